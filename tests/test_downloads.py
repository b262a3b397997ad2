"""Downloads against a local HTTPS server on 127.0.0.1: every failure leaves no file that looks complete."""
import hashlib
import http.server
import ssl
import subprocess
import threading
import time

import pytest

from crepe.download import download
from crepe.errors import DataError

BODY = b'"1","title","a small but complete file"\n' * 2000
SHA = hashlib.sha256(BODY).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves BODY in the way the path asks: /good, /corrupt, /truncated, /stall, /missing."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/missing":
            self.send_error(404, "Not Found")
            return
        body = BODY if self.path != "/corrupt" else BODY[:-10] + b"XXXXXXXXXX"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/truncated":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)            # the connection drops mid-transfer
            return
        if self.path == "/stall":
            self.wfile.write(body[:100])
            self.wfile.flush()
            time.sleep(3)                          # longer than the client's timeout
        self.wfile.write(body)


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass                                       # clients that hang up early are the point of these tests


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An HTTPS server with a self-signed certificate for 127.0.0.1, and a client context that trusts it."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    yield f"https://127.0.0.1:{httpd.server_address[1]}", client_context
    httpd.shutdown()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_good_file_is_verified_and_kept(server, tmp_path):
    base, context = server
    path = download(f"{base}/good", tmp_path / "train.csv", SHA, progress=False, ssl_context=context)
    assert path.read_bytes() == BODY and leftovers(tmp_path) == ["train.csv"]


def test_download_checksum_mismatch_leaves_nothing(server, tmp_path):
    base, context = server
    with pytest.raises(DataError, match="SHA-256 is .* expected .* the file was discarded"):
        download(f"{base}/corrupt", tmp_path / "train.csv", SHA, progress=False, ssl_context=context)
    assert leftovers(tmp_path) == []


def test_download_truncated_transfer_leaves_nothing(server, tmp_path):
    base, context = server
    with pytest.raises(DataError, match="cut short|broke off"):
        download(f"{base}/truncated", tmp_path / "train.csv", SHA, progress=False, ssl_context=context)
    assert leftovers(tmp_path) == []


def test_download_404_says_what_to_fetch_by_hand(server, tmp_path):
    base, context = server
    with pytest.raises(DataError, match=r"HTTP 404 .*fetch https://127.0.0.1:\d+/missing by hand .* save it as"):
        download(f"{base}/missing", tmp_path / "train.csv", SHA, progress=False, ssl_context=context)
    assert leftovers(tmp_path) == []


def test_download_stalled_server_times_out(server, tmp_path):
    base, context = server
    with pytest.raises(DataError, match="timed out|broke off|could not reach"):
        download(f"{base}/stall", tmp_path / "train.csv", SHA, timeout=1, progress=False, ssl_context=context)
    assert leftovers(tmp_path) == []


def test_download_untrusted_certificate_is_refused(server, tmp_path):
    base, _ = server
    with pytest.raises(DataError, match="could not reach"):
        download(f"{base}/good", tmp_path / "train.csv", SHA, progress=False)
    assert leftovers(tmp_path) == []


def test_download_retry_after_an_interrupted_run_succeeds(server, tmp_path):
    base, context = server
    with pytest.raises(DataError):
        download(f"{base}/truncated", tmp_path / "train.csv", SHA, progress=False, ssl_context=context)
    # A stale partial file from a killed process must not be mistaken for the real one either.
    (tmp_path / ".train.csv.abc123.part").write_bytes(BODY[:50])
    download(f"{base}/good", tmp_path / "train.csv", SHA, progress=False, ssl_context=context)
    assert (tmp_path / "train.csv").read_bytes() == BODY


def test_download_unreachable_host_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match=r"could not reach https://127.0.0.1:9/x.csv .*save it as"):
        download("https://127.0.0.1:9/x.csv", tmp_path / "x.csv", SHA, timeout=2, progress=False)
    assert leftovers(tmp_path) == []
