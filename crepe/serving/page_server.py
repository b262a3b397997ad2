"""The live-demo page's own web server: its static files, a ``config.json``, predictions and readiness.

The page (``crepe/serving/page/``) reads ``config.json`` from its own origin and POSTs to its own origin too:
this server forwards ``POST /predictions/<name>`` to the model server (bounded body, bounded time),
so the page works under any host name or port and the model server allows no other origin (no CORS).
``GET /ready`` answers 200 only while the model has a ready worker (a load balancer's health check).
The files are read once at start-up and served from memory: nothing else on disk is reachable (no
directory listing, no path to traverse). Nothing logged per request. Standard library only.
"""
import errno
import http.client
import json
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import UsageError

__all__ = ["PAGE_DIRECTORY", "PageServer", "start_page_server"]

PAGE_DIRECTORY = Path(__file__).parent / "page"
HTML, CSS, SCRIPT = (f"text/{kind}; charset=utf-8" for kind in ("html", "css", "javascript"))
ICON = "image/svg+xml"
#: URL path -> (file of PAGE_DIRECTORY, content type).
PAGE_FILES = {"/": ("index.html", HTML), "/index.html": ("index.html", HTML), "/page.css": ("page.css", CSS),
              "/page.js": ("page.js", SCRIPT), "/encode.js": ("encode.js", SCRIPT),
              "/occlusion.js": ("occlusion.js", SCRIPT), "/favicon.svg": ("favicon.svg", ICON)}
CONFIG_PATH, READY_PATH, JSON = "/config.json", "/ready", "application/json"
# The page loads nothing from elsewhere and connects only to its own origin. 'wasm-unsafe-eval' lets it compile
# onnxruntime-web's WebAssembly (when the model in the browser is served too); it allows no JavaScript eval.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"}
#: The largest body forwarded (the handler's own limit, crepe.serving.handler.MAX_BODY_BYTES), and the seconds
#: the model server may take (above its 20 s response timeout).
MAX_FORWARD_BYTES, FORWARD_SECONDS = 1_000_000, 60
#: A refused body up to this size is read and dropped, so that the client sees the 413 (beyond: cut off).
MAX_DISCARD_BYTES = 16_000_000
#: What the page shows when the model server does not answer.
DOWN = "The model server is not answering; is python -m crepe serve still running?"


def _error(sentence):
    return json.dumps({"error": sentence}).encode("utf-8")


class PageHandler(BaseHTTPRequestHandler):
    """GET/HEAD for the server's ``documents`` and ``/ready``; POST to the predictions path is forwarded."""

    timeout = FORWARD_SECONDS               # seconds a client may leave its connection silent
    protocol_version = "HTTP/1.1"           # keep-alive: every answer has a Content-Length

    def do_GET(self):
        self._answer(send_body=True)

    def do_HEAD(self):
        self._answer(send_body=False)

    def do_POST(self):
        if urlsplit(self.path).path != self.server.predictions or self.server.upstream is None:
            self.close_connection = True        # its body stays unread
            return self._refuse()
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            return self._send(HTTPStatus.LENGTH_REQUIRED, _error("send the body with a Content-Length"), JSON)
        if int(length) > MAX_FORWARD_BYTES:
            self._discard(int(length))
            return self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              _error(f"the request body has {length} bytes; the limit is {MAX_FORWARD_BYTES}"), JSON)
        body = self.rfile.read(int(length))
        self._send(*forward(self.server.upstream, self.path, body, self.headers.get("Content-Type")))

    def _discard(self, length):
        """Read and drop a refused body of up to :data:`MAX_DISCARD_BYTES`, so the client reads the answer."""
        self.close_connection = True
        if length <= MAX_DISCARD_BYTES:
            while length > 0:
                length -= len(self.rfile.read(min(length, 1 << 16)) or b"\0" * length)

    def _refuse(self):
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD, and POST for predictions\n",
                   "text/plain; charset=utf-8", extra={"Allow": "GET, HEAD, POST"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _answer(self, send_body):
        path = urlsplit(self.path).path
        if path == READY_PATH:
            ready = bool(self.server.ready and self.server.ready())
            return self._send(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE,
                              json.dumps({"ready": ready}).encode(), JSON, send_body)
        document = self.server.documents.get(path)
        status = HTTPStatus.OK if document else HTTPStatus.NOT_FOUND
        self._send(status, *(document or (b"not found\n", "text/plain; charset=utf-8")), send_body)

    def _send(self, status, body, content_type, send_body=True, extra=None):
        self.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(len(body)),
                            **SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format, *args):
        """Quiet: no line per request on stderr."""


def forward(upstream, path, body, content_type=None, timeout=FORWARD_SECONDS):
    """(status, body, content type) of ``POST path`` on the model server at ``upstream`` (``host:port``).

    Examples
    --------
    >>> import socket
    >>> with socket.socket() as closed:
    ...     closed.bind(("127.0.0.1", 0)); port = closed.getsockname()[1]
    >>> int(forward(f"127.0.0.1:{port}", "/predictions/crepe", b"{}")[0])
    502
    """
    connection = http.client.HTTPConnection(upstream, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": content_type or JSON})
        answer = connection.getresponse()
        return answer.status, answer.read(), answer.getheader("Content-Type") or JSON
    except socket.timeout:
        return HTTPStatus.GATEWAY_TIMEOUT, _error(f"the model server did not answer within {timeout} s"), JSON
    except (OSError, http.client.HTTPException):
        return HTTPStatus.BAD_GATEWAY, _error(DOWN), JSON
    finally:
        connection.close()


class PageServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer over in-memory ``documents``; :meth:`shutdown` also closes it and its thread."""

    daemon_threads = True
    request_queue_size = 256                # connections waiting to be accepted (socketserver's default is 5)

    def __init__(self, address, documents, upstream=None, ready=None):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, PageHandler)
        self.documents, self.upstream, self.ready = documents, upstream, ready
        config = json.loads(documents[CONFIG_PATH][0]) if CONFIG_PATH in documents else {}
        self.predictions = config.get("predictions")
        host, port = self.server_address[:2]
        host = address[0] or host
        self.origin = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self.thread = threading.Thread(target=self.serve_forever, name="crepe-page-server", daemon=True)

    def shutdown(self):
        """Stop serving, close the socket and wait for the serving thread (safe to call twice)."""
        if self.thread.is_alive():
            super().shutdown()
            self.thread.join()
        self.server_close()

    def handle_error(self, request, client_address):
        """A browser that hangs up early is no error worth a traceback; anything else is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def page_documents(config, directory=PAGE_DIRECTORY, extra=None):
    """``{url path: (body bytes, content type)}``: the page's files, ``extra`` and ``config`` as ``config.json``."""
    documents = {path: ((directory / name).read_bytes(), kind) for path, (name, kind) in PAGE_FILES.items()}
    documents.update(extra or {})
    documents[CONFIG_PATH] = (json.dumps(config, indent=1).encode("utf-8"), "application/json")
    return documents


def start_page_server(config, host="127.0.0.1", port=0, upstream=None, ready=None, extra=None):
    """Serve the demo page and ``config`` (as ``config.json``) on ``host:port`` from a background thread.

    Parameters
    ----------
    config : dict
        What the page reads: ``predictions`` (the path it POSTs to on its own origin,
        ``/predictions/<name>``), ``model``, ``classes`` (in order) and ``examples`` (texts for the
        "random example" button; may be empty).
    host, port : str, int
        Where to listen (default loopback; port 0 picks a free one).
    upstream : str, optional
        The model server's ``host:port``, where POSTs to ``config["predictions"]`` are forwarded.
    ready : callable, optional
        Whether the model has a ready worker now; ``GET /ready`` answers 200 or 503 by it.
    extra : dict, optional
        More documents, ``{url path: (bytes, content type)}``: the model in the browser
        (:func:`crepe.web_export.browser_documents`, with the keys it adds to ``config``).

    Returns
    -------
    (PageServer, str)
        The running server (``server.shutdown()`` stops it) and the page's URL.

    Raises
    ------
    UsageError
        When the port is in use or the address cannot be listened on.

    Examples
    --------
    >>> import json, urllib.request
    >>> server, url = start_page_server({"predictions": "/predictions/crepe", "model": "crepe",
    ...                                  "classes": ["World", "Sports"], "examples": []})
    >>> url == server.origin + "/"
    True
    >>> json.load(urllib.request.urlopen(url + "config.json", timeout=10))["classes"]
    ['World', 'Sports']
    >>> server.shutdown()
    """
    documents = page_documents(config, extra=extra)
    try:
        server = PageServer((host, port), documents, upstream, ready)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is in use: stop what listens there or choose another "
                             "port for the demo page") from None
        raise UsageError(f"cannot serve the demo page on {host}:{port}: {error.strerror or error}") from None
    server.thread.start()
    return server, server.origin + "/"
