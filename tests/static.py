"""A plain static web server on 127.0.0.1 in a thread of the test process (``python -m http.server`` style)."""
import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers import free_port

STOP_SECONDS = 10


class QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".wasm": "application/wasm", ".onnx": "application/octet-stream"}

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def static_server(folder):
    """Serve ``folder`` at the yielded base URL (http://127.0.0.1:PORT/) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_SECONDS)
