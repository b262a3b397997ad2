"""MXNet Model Server's management API, over the Unix socket it listens on (never TCP).

:class:`ManagementClient` sends one HTTP request through the socket and reads the JSON answer;
:meth:`ManagementClient.ready_workers` is what readiness means for ``serve`` and its page server.
"""
import http.client
import json
import socket
import urllib.parse
from pathlib import Path

__all__ = ["ManagementClient"]


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP connection over a Unix socket (the Host header says ``localhost``)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class ManagementClient:
    """MMS's management API over its Unix socket: ``request(method, path)`` gives (status, parsed JSON).

    Examples
    --------
    >>> ManagementClient("/nowhere.sock").request("GET", "/models", timeout=1)
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] No such file or directory
    """

    def __init__(self, path):
        self.path = Path(path)

    def request(self, method, path, timeout=10):
        """(HTTP status, the answer's JSON or None); OSError when nothing answers on the socket."""
        connection = _UnixConnection(self.path, timeout)
        try:
            connection.request(method, path)
            answer = connection.getresponse()
            status, body = answer.status, answer.read()
        finally:
            connection.close()
        try:
            return status, json.loads(body.decode("utf-8"))
        except ValueError:
            return status, None

    def ready_workers(self, name, timeout=5):
        """How many of model ``name``'s workers are READY (0 when the model is unknown or the server down)."""
        try:
            status, answer = self.request("GET", f"/models/{urllib.parse.quote(name)}", timeout)
        except OSError:
            return 0
        if status != 200 or not isinstance(answer, dict):
            return 0
        return sum(worker.get("status") == "READY" for worker in answer.get("workers", []))
