"""The live-demo page's own web server: its static files and a ``config.json``, on a thread.

The page (``crepe/page/``) reads ``config.json`` from its own origin, then POSTs to the model server
directly: cross-origin, so the model server must allow ``server.origin`` (CORS). The files are read
once at start-up and served from memory: nothing else on disk is reachable (no directory listing, no
path to traverse). GET and HEAD only; nothing logged per request. Standard library only.
"""
import errno
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .errors import UsageError

__all__ = ["PAGE_DIRECTORY", "PageServer", "start_page_server"]

PAGE_DIRECTORY = Path(__file__).parent / "page"
HTML, CSS, SCRIPT = (f"text/{kind}; charset=utf-8" for kind in ("html", "css", "javascript"))
ICON = "image/svg+xml"
#: URL path -> (file of PAGE_DIRECTORY, content type).
PAGE_FILES = {"/": ("index.html", HTML), "/index.html": ("index.html", HTML), "/page.css": ("page.css", CSS),
              "/page.js": ("page.js", SCRIPT), "/favicon.svg": ("favicon.svg", ICON)}
CONFIG_PATH = "/config.json"
# The page loads nothing from elsewhere; it may only connect out (to the model server).
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                    "Content-Security-Policy": "default-src 'self'; connect-src 'self' http: https:"}


class PageHandler(BaseHTTPRequestHandler):
    """Answers GET/HEAD for the paths in the server's ``documents``, 404 otherwise, 405 other methods."""

    def do_GET(self):
        self._answer(send_body=True)

    def do_HEAD(self):
        self._answer(send_body=False)

    def _refuse(self):
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"only GET and HEAD\n", "text/plain; charset=utf-8",
                   extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _answer(self, send_body):
        document = self.server.documents.get(urlsplit(self.path).path)
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


class PageServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer over in-memory ``documents``; :meth:`shutdown` also closes it and its thread."""

    daemon_threads = True

    def __init__(self, address, documents):
        super().__init__(address, PageHandler)
        self.documents = documents
        host, port = self.server_address[:2]
        self.origin = f"http://{address[0] or host}:{port}"
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


def page_documents(config, directory=PAGE_DIRECTORY):
    """``{url path: (body bytes, content type)}``: the page's files and ``config`` as ``config.json``."""
    documents = {path: ((directory / name).read_bytes(), kind) for path, (name, kind) in PAGE_FILES.items()}
    documents[CONFIG_PATH] = (json.dumps(config, indent=1).encode("utf-8"), "application/json")
    return documents


def start_page_server(config, host="127.0.0.1", port=0):
    """Serve the demo page and ``config`` (as ``config.json``) on ``host:port`` from a background thread.

    Parameters
    ----------
    config : dict
        What the page reads: ``predictions`` (the model server's URL), ``model``, ``classes`` (in
        order) and ``examples`` (texts for the "random example" button; may be empty).
    host, port : str, int
        Where to listen (default loopback; port 0 picks a free one).

    Returns
    -------
    (PageServer, str)
        The running server (``server.shutdown()`` stops it; ``server.origin`` is the origin the page's
        requests carry, for the model server's CORS setting) and the page's URL.

    Raises
    ------
    UsageError
        When the port is in use or the address cannot be listened on.

    Examples
    --------
    >>> import json, urllib.request
    >>> server, url = start_page_server({"predictions": "http://127.0.0.1:8080/predictions/crepe",
    ...                                  "model": "crepe", "classes": ["World", "Sports"], "examples": []})
    >>> url == server.origin + "/"
    True
    >>> json.load(urllib.request.urlopen(url + "config.json", timeout=10))["classes"]
    ['World', 'Sports']
    >>> server.shutdown()
    """
    documents = page_documents(config)
    try:
        server = PageServer((host, port), documents)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is in use: stop what listens there or choose another "
                             "port for the demo page") from None
        raise UsageError(f"cannot serve the demo page on {host}:{port}: {error.strerror or error}") from None
    server.thread.start()
    return server, server.origin + "/"
