"""The request handler MXNet Model Server runs: a batch of HTTP requests in, one JSON answer each.

MXNet Model Server (``multi-model-server``) calls :func:`handle` once with ``data=None`` when a
worker loads the model, then with a list of requests, one dict per request, up to the batch size it
was registered with. Every request of a batch is answered, in order, from **one** forward pass over
all their texts. A request that cannot be used gets a 4xx status and ``{"error": "one sentence"}``;
the others in its batch are still answered, and the worker lives on.

The server is started with ``MMS_DECODE_INPUT_REQUEST=false``, so bodies arrive as raw bytes and
this module alone decodes them (invalid UTF-8 or JSON then cannot crash the worker's own decoder).
Accepted bodies:

* ``{"text": "...", "explain": false}``: one answer ``{"predicted": C, "probabilities": {C: p}}``,
  plus ``"saliency": [[character, score], ...]`` in reading order when ``explain`` is true (Crepe only);
* ``{"texts": ["...", ...]}``: a JSON list of such answers, at most :data:`MAX_TEXTS` texts;
* any other body, e.g. ``text/plain``: the whole body, as UTF-8, is one text (a body without a
  content type is read as JSON when it starts with ``{``).

The archive (:mod:`crepe.archive`) copies this file in as its handler; it imports the installed
``crepe`` for everything else, so a text is encoded exactly as ``python -m crepe predict`` does.
"""
import json
import logging
from pathlib import Path

from crepe.inference import answer, probabilities

__all__ = ["MAX_TEXTS", "MAX_CHARACTERS", "RequestError", "parse", "Service", "handle"]

#: Texts one request may carry, and characters one text may have (the frame reads only the last 1014).
MAX_TEXTS, MAX_CHARACTERS = 64, 20_000
#: Fields a JSON request may have.
FIELDS = ("text", "texts", "explain")

log = logging.getLogger(__name__)


class RequestError(ValueError):
    """A request that cannot be answered: its HTTP status and one sentence."""

    def __init__(self, sentence, status=400):
        super().__init__(sentence)
        self.status = status


def _body(request):
    """The raw body of one request (bytes), or a form field ``text``."""
    for key in ("body", "data", "text"):
        if request.get(key) is not None:
            value = request[key]
            return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return b""


def _decode(body):
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(f"the request body is not valid UTF-8 (byte {error.start} is {body[error.start]:#04x})") \
            from None


def _texts_of(message):
    """(texts, single) from a parsed JSON object, or RequestError naming the field."""
    unknown = sorted(set(message) - set(FIELDS))
    if unknown:
        raise RequestError(f"unknown field {unknown[0]!r}; a request has 'text' or 'texts', and optionally 'explain'")
    if ("text" in message) == ("texts" in message):
        raise RequestError("the JSON object needs exactly one of 'text' (a string) or 'texts' (a list of strings)")
    if "text" in message:
        if not isinstance(message["text"], str):
            raise RequestError(f"'text' must be a string, not {type(message['text']).__name__}")
        return [message["text"]], True
    texts = message["texts"]
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise RequestError("'texts' must be a non-empty list of strings")
    if len(texts) > MAX_TEXTS:
        raise RequestError(f"'texts' has {len(texts)} texts; one request may carry at most {MAX_TEXTS}", status=413)
    return texts, False


def _is_json(content_type, text):
    if content_type:
        return content_type.split(";")[0].strip().lower() == "application/json"
    return text.lstrip().startswith("{")


def parse(body, content_type=None):
    """The texts of one request body, whether it is one text, and whether saliency is asked for.

    Parameters
    ----------
    body : bytes
        The raw HTTP body.
    content_type : str, optional
        Its ``Content-Type``: ``application/json`` is parsed as JSON, anything else is one text.

    Returns
    -------
    (list of str, bool, bool)
        The texts, True for a single text (answered as one object, not a list), and ``explain``.

    Raises
    ------
    RequestError
        With a 4xx status and one sentence: empty, not UTF-8, not the JSON shape above, too many texts,
        or a text over :data:`MAX_CHARACTERS`.

    Examples
    --------
    >>> parse(b'{"text": "Stocks rally", "explain": true}')
    (['Stocks rally'], True, True)
    >>> parse("[Update] Ümlaut news".encode(), "text/plain; charset=utf-8")
    (['[Update] Ümlaut news'], True, False)
    >>> parse(b'{"texts": 3}')
    Traceback (most recent call last):
    ...
    crepe.handler.RequestError: 'texts' must be a non-empty list of strings
    """
    text = _decode(bytes(body))
    if not text.strip():
        raise RequestError('the request body is empty; send {"text": "..."} as JSON, or the text itself')
    texts, single, explain = [text], True, False
    if _is_json(content_type, text):
        try:
            message = json.loads(text)
        except json.JSONDecodeError as error:
            raise RequestError(f"the request body is not valid JSON ({error.msg}: line {error.lineno}, "
                               f"column {error.colno})") from None
        if not isinstance(message, dict):
            raise RequestError(f"the request body must be a JSON object, not a {type(message).__name__}")
        texts, single = _texts_of(message)
        explain = message.get("explain", False)
        if not isinstance(explain, bool):
            raise RequestError(f"'explain' must be true or false, not {json.dumps(explain)[:40]}")
    longest = max(range(len(texts)), key=lambda i: len(texts[i]))
    if len(texts[longest]) > MAX_CHARACTERS:
        where = "the text" if single else f"text {longest}"
        raise RequestError(f"{where} has {len(texts[longest])} characters; the limit is {MAX_CHARACTERS}",
                           status=413)
    return texts, single, explain


class Service:
    """A loaded model and how it answers a batch; :func:`handle` keeps one per worker process."""

    def __init__(self, model_dir, ctx=None):
        from crepe.archive import load_archived_model

        self.net, self.config = load_archived_model(model_dir, ctx)
        self.classes = self.config["classes"]
        self.ctx = ctx
        # Saliency is Crepe's, and only without batch normalisation (crepe.explain says why).
        self.explains = self.config["model"] == "crepe" and not self.config.get("architecture", {}).get("norm")

    def _saliency(self, text):
        from crepe.explain import explain

        pairs, _ = explain(self.net, text, ctx=self.ctx)
        return [[character, round(score, 6)] for character, score in pairs]

    def answer(self, requests, content_types=None):
        """(bodies, statuses) for a batch of requests, in order, from one forward pass.

        Parameters
        ----------
        requests : list of dict
            What the server passes: each holds the raw body under ``"body"`` (or a form field ``text``).
        content_types : list of str, optional
            Each request's ``Content-Type`` (see :func:`parse`).

        Returns
        -------
        (list of str, list of int)
            A JSON text and an HTTP status per request.
        """
        parsed, statuses = [], []
        for request, content_type in zip(requests, content_types or [None] * len(requests)):
            try:
                parsed.append(parse(_body(request), content_type))
                statuses.append(200)
            except RequestError as error:
                parsed.append(json.dumps({"error": str(error)}))
                statuses.append(error.status)
        good = [item for item in parsed if not isinstance(item, str)]
        texts = [text for item in good for text in item[0]]
        table = probabilities(self.net, texts, self.ctx)            # (texts, classes): one pass for the batch
        bodies, start = [], 0
        for item in parsed:
            if isinstance(item, str):
                bodies.append(item)
                continue
            item_texts, single, explain = item
            answers = [answer(row, self.classes) for row in table[start:start + len(item_texts)]]
            start += len(item_texts)
            if explain and self.explains:
                for result, text in zip(answers, item_texts):
                    result["saliency"] = self._saliency(text)
            bodies.append(json.dumps(answers[0] if single else answers))
        return bodies, statuses


_service = None


def _context_device(context):
    """The GPU the server assigned, if this MXNet can use one; else the CPU."""
    import mxnet as mx

    gpu = context.system_properties.get("gpu_id")
    return mx.gpu(int(gpu)) if gpu is not None and mx.context.num_gpus() > int(gpu) else mx.cpu()


def _content_type(context, index):
    """The request's ``Content-Type``: the server keeps it per body part, and among the HTTP headers."""
    part = context.get_request_header(index, "body") or {}
    header = part.get("content-type") if isinstance(part, dict) else None
    return header or context.get_request_header(index, "Content-Type") or context.get_request_header(
        index, "content-type")


def handle(data, context):
    """MXNet Model Server's entry point (the archive's manifest names ``crepe_handler:handle``).

    Called with ``data=None`` once to load the model (a damaged archive raises one sentence, which the
    server logs), then with a batch: returns one JSON text per request and sets each one's status.
    """
    global _service
    if data is None:
        _service = Service(Path(context.system_properties["model_dir"]), _context_device(context))
        log.info("crepe handler: %s loaded, batch size %s", _service.config["model"],
                 context.system_properties.get("batch_size"))
        return None
    bodies, statuses = _service.answer(data, [_content_type(context, index) for index in range(len(data))])
    # No response headers, not even Content-Type: MMS 1.1.11's frontend misreads a worker's reply whose
    # header tables arrive split across socket reads ("Message size exceed limit"), and drops the worker.
    for index, status in enumerate(statuses):
        if status != 200:
            context.set_response_status(status, "Bad Request" if status == 400 else "Payload Too Large", index)
    log.info("crepe handler: answered a batch of %d requests", len(data))
    return bodies
