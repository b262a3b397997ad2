"""The client side of a served model: one POST, and many from concurrent clients.

- :func:`post` sends one JSON (or raw) POST and gives ``(status, parsed answer)``;
- :func:`throughput` times requests from a fixed number of concurrent clients.
"""
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

__all__ = ["post", "throughput"]


def post(url, payload, content_type="application/json", timeout=60):
    """(HTTP status, parsed JSON answer) of one POST; ``payload`` is JSON-encoded unless it is bytes.

    An error status is returned, not raised; a connection that fails raises ``OSError``.

    Examples
    --------
    >>> from crepe.serving.started import free_ports
    >>> post(f"http://127.0.0.1:{free_ports()}/", {"text": "hi"}, timeout=2)
    Traceback (most recent call last):
    ...
    urllib.error.URLError: <urlopen error [Errno 111] Connection refused>
    """
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode("utf-8") or "null")


def throughput(url, texts, clients):
    """(requests per second, answers in order) for one POST ``{"text": t}`` per text, from ``clients`` threads.

    Examples
    --------
    >>> throughput("http://127.0.0.1:9/", [], 2)
    (0.0, [])
    """
    if not texts:
        return 0.0, []
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda text: post(url, {"text": text}), texts))
    return len(texts) / (time.perf_counter() - started), answers
