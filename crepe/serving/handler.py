"""The request handler MXNet Model Server runs: a batch of HTTP requests in, one JSON answer each.

MXNet Model Server (``multi-model-server``) calls :func:`handle` once with ``data=None`` when a
worker loads the model, then with a list of requests, one dict per request, up to the batch size it
was registered with. Every good request of a batch is answered, in order:

* a request that cannot be parsed gets a 4xx status and ``{"error": "one sentence"}``;
* any other failure for one request gives it a 500 and one sentence; nothing escapes to the server,
  so the other requests of the batch are still answered and the worker lives on.

The work of one batch is bounded (module constants): at most :data:`MAX_BATCH_TEXTS` texts (the
requests that do not fit get 503 and a sentence asking to retry), the forward pass in chunks of
:data:`CHUNK` texts, and saliency (``explain``) only for a single ``text``, for at most
:data:`MAX_EXPLAIN` requests per batch (the others get 503 too).

The server is started with ``MMS_DECODE_INPUT_REQUEST=false``, so bodies arrive as raw bytes and
this module alone decodes them. Accepted bodies, at most :data:`MAX_BODY_BYTES` (else 413):

* ``{"text": "...", "explain": false}``: one answer ``{"predicted": C, "probabilities": {C: p}}``,
  plus ``"saliency": [[character, score], ...]`` in reading order when ``explain`` is true (Crepe only),
  explaining the ``predicted`` class;
* ``{"texts": ["...", ...]}``: a JSON list of such answers, at most :data:`MAX_TEXTS` texts;
* any other body, e.g. ``text/plain``: the body, as UTF-8, less one trailing newline, is one text,
  as ``python -m crepe predict --file`` reads a line (a body without a content type is read as JSON
  when it starts with ``{``).

One rule for empty texts: a text that is empty or only white space is refused with 400, whether it
is the whole body, ``{"text": ""}`` or one of ``"texts"`` (``predict --file`` skips such lines).

The archive's handler is a one-line shim into this module (:mod:`crepe.serving.archive`), so a text is
encoded exactly as ``python -m crepe predict`` does. Loading checks the unpacked archive strictly
(:func:`crepe.serving.archive.check_unpacked`) before MXNet is imported.
"""
import json
import logging
from pathlib import Path

__all__ = ["MAX_TEXTS", "MAX_CHARACTERS", "MAX_BODY_BYTES", "MAX_BATCH_TEXTS", "CHUNK", "MAX_EXPLAIN",
           "RequestError", "parse", "Service", "handle"]

#: Texts one request may carry, and characters one text may have (the frame reads only the last 1014).
MAX_TEXTS, MAX_CHARACTERS = 64, 20_000
#: The largest body the handler reads (the server's own limit is set higher, so this one answers 413).
MAX_BODY_BYTES = 1_000_000
#: Texts one batch may carry in all; the forward pass runs over chunks of CHUNK texts.
MAX_BATCH_TEXTS, CHUNK = 256, 64
#: Requests with ``explain`` (one forward and one backward pass each) that one batch answers.
MAX_EXPLAIN = 4
#: Fields a JSON request may have.
FIELDS = ("text", "texts", "explain")
#: HTTP reason phrases of the statuses the handler sets.
REASONS = {400: "Bad Request", 413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}

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


def _checked(texts, single):
    """``texts`` if none is empty or only white space, else RequestError naming the text."""
    for index, text in enumerate(texts):
        if not text.strip():
            where = "the text" if single else f"text {index}"
            raise RequestError(f'{where} is empty; send {{"text": "..."}} as JSON, or the text itself')
    return texts


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


def _json_object(text):
    """The JSON object of a body, or RequestError: not JSON, a number too long, nesting too deep, not an object.

    Examples
    --------
    >>> _json_object('{"text": ' + "1" * 5000 + "}")
    Traceback (most recent call last):
    ...
    crepe.serving.handler.RequestError: the request body's JSON cannot be read: a number in it is too long
    """
    try:
        message = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(f"the request body is not valid JSON ({error.msg}: line {error.lineno}, "
                           f"column {error.colno})") from None
    except RecursionError:
        raise RequestError("the request body's JSON cannot be read: it is nested too deeply") from None
    except ValueError:                              # an integer of more than 4300 digits
        raise RequestError("the request body's JSON cannot be read: a number in it is too long") from None
    if not isinstance(message, dict):
        raise RequestError(f"the request body must be a JSON object, not a {type(message).__name__}")
    return message


def _strip_newline(text):
    """``text`` less one trailing line end, as a line of ``predict --file`` is read.

    Examples
    --------
    >>> _strip_newline("Stocks rally\\r\\n"), _strip_newline("a\\n\\n")
    ('Stocks rally', 'a\\n')
    """
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            return text[:-len(end)]
    return text


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
        With a 4xx status and one sentence: too large, empty, not UTF-8, not the JSON shape above, too
        many texts, a text over :data:`MAX_CHARACTERS`, or ``explain`` for a list of texts.

    Examples
    --------
    >>> parse(b'{"text": "Stocks rally", "explain": true}')
    (['Stocks rally'], True, True)
    >>> parse("[Update] Ümlaut news\\n".encode(), "text/plain; charset=utf-8")
    (['[Update] Ümlaut news'], True, False)
    >>> parse(b'{"texts": 3}')
    Traceback (most recent call last):
    ...
    crepe.serving.handler.RequestError: 'texts' must be a non-empty list of strings
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(f"the request body has {len(body)} bytes; the limit is {MAX_BODY_BYTES}", status=413)
    text = _decode(bytes(body))
    if not text.strip():
        raise RequestError('the request body is empty; send {"text": "..."} as JSON, or the text itself')
    texts, single, explain = [_strip_newline(text)], True, False
    if _is_json(content_type, text):
        message = _json_object(text)
        texts, single = _texts_of(message)
        explain = message.get("explain", False)
        if not isinstance(explain, bool):
            raise RequestError(f"'explain' must be true or false, not {json.dumps(explain)[:40]}")
        if explain and not single:
            raise RequestError("'explain' is for a single 'text', not for 'texts'")
    longest = max(range(len(texts)), key=lambda i: len(texts[i]))
    if len(texts[longest]) > MAX_CHARACTERS:
        where = "the text" if single else f"text {longest}"
        raise RequestError(f"{where} has {len(texts[longest])} characters; the limit is {MAX_CHARACTERS}",
                           status=413)
    return _checked(texts, single), single, explain


def _error(sentence):
    """The JSON body of a refused request."""
    return json.dumps({"error": sentence})


def _admit(parsed):
    """Refuse, with 503 and a sentence, what goes over a batch's caps: texts, then explanations.

    ``parsed`` holds per request either (texts, single, explain) or a RequestError; returns a new list.

    Examples
    --------
    >>> items = _admit([(["a"] * 64, False, False)] * 5)
    >>> [isinstance(item, RequestError) for item in items]
    [False, False, False, False, True]
    """
    admitted, texts, explained = [], 0, 0
    for item in parsed:
        if not isinstance(item, RequestError):
            if texts + len(item[0]) > MAX_BATCH_TEXTS:
                item = RequestError(f"the server's batch already holds {texts} texts (at most {MAX_BATCH_TEXTS}); "
                                    "send it again, or fewer texts per request", status=503)
            elif item[2] and explained >= MAX_EXPLAIN:
                item = RequestError(f"the server explains at most {MAX_EXPLAIN} texts per batch; send it again",
                                    status=503)
            else:
                texts, explained = texts + len(item[0]), explained + item[2]
        admitted.append(item)
    return admitted


class Service:
    """A loaded model and how it answers a batch; :func:`handle` keeps one per worker process."""

    def __init__(self, model_dir, ctx=None):
        from crepe.inference import answer, probabilities
        from crepe.serving.archive import load_archived_model

        self._probabilities, self._answer = probabilities, answer
        self.net, self.config = load_archived_model(model_dir, ctx)
        self.classes = self.config["classes"]
        self.ctx = ctx
        # Saliency is Crepe's, and only without batch normalisation (crepe.explain says why).
        self.explains = self.config["model"] == "crepe" and not self.config.get("architecture", {}).get("norm")

    def _saliency(self, text, predicted):
        """[[character, score], ...] explaining class ``predicted`` (the batch's answer, not a new argmax)."""
        from crepe.explain import explain

        pairs, _ = explain(self.net, text, ctx=self.ctx, target=self.classes.index(predicted))
        return [[character, round(score, 6)] for character, score in pairs]

    def _table(self, texts):
        """One row of probabilities (classes,) per text, None where its chunk failed: CHUNK texts per pass."""
        rows = [None] * len(texts)
        for start in range(0, len(texts), CHUNK):
            try:
                table = self._probabilities(self.net, texts[start:start + CHUNK], self.ctx)      # (<=CHUNK, classes)
                rows[start:start + len(table)] = list(table)
            except Exception:                       # one chunk's failure is its requests' 500
                log.exception("crepe handler: the forward pass over texts %d.. failed", start)
        return rows

    def _reply(self, item, rows):
        """(JSON text, status) of one admitted request from its rows of the table."""
        texts, single, explain = item
        if any(row is None for row in rows):
            return _error("the model failed on this request's texts; the server's log says why"), 500
        answers = [self._answer(row, self.classes) for row in rows]
        if explain and self.explains:
            answers[0]["saliency"] = self._saliency(texts[0], answers[0]["predicted"])
        return json.dumps(answers[0] if single else answers), 200

    def answer(self, requests, content_types=None):
        """(bodies, statuses) for a batch of requests, in order; every failure stays its own request's.

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
        parsed = []
        for request, content_type in zip(requests, content_types or [None] * len(requests)):
            try:
                parsed.append(parse(_body(request), content_type))
            except RequestError as error:
                parsed.append(error)
            except Exception as error:              # a parser bug must not fail the batch
                log.exception("crepe handler: reading a request failed")
                parsed.append(RequestError(f"the request could not be read ({type(error).__name__})", status=400))
        parsed = _admit(parsed)
        good = [item for item in parsed if not isinstance(item, RequestError)]
        rows = iter(self._table([text for item in good for text in item[0]]))
        bodies, statuses = [], []
        for item in parsed:
            if isinstance(item, RequestError):
                body, status = _error(str(item)), item.status
            else:
                try:
                    body, status = self._reply(item, [next(rows) for _ in item[0]])
                except Exception:                   # one request's failure is its own 500
                    log.exception("crepe handler: answering a request failed")
                    body, status = _error("the server failed to answer this request; its log says why"), 500
            bodies.append(body)
            statuses.append(status)
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


def _answer_batch(data, context):
    """(bodies, statuses) of a batch; if even that fails, every request gets 500 and one sentence."""
    try:
        types = [_content_type(context, index) for index in range(len(data))]
        return _service.answer(data, types)
    except Exception:                               # nothing escapes to the server
        log.exception("crepe handler: the batch failed")
        return [_error("the server failed to answer this batch; its log says why")] * len(data), [500] * len(data)


def handle(data, context):
    """MXNet Model Server's entry point (the archive's shim calls it).

    Called with ``data=None`` once to load the model (a damaged archive raises one sentence, which the
    server logs), then with a batch: returns one JSON text per request and sets each one's status.
    """
    global _service
    if data is None:
        from crepe.serving.archive import check_unpacked

        check_unpacked(context.system_properties["model_dir"])      # before anything heavy is imported
        _service = Service(Path(context.system_properties["model_dir"]), _context_device(context))
        log.info("crepe handler: %s loaded, batch size %s", _service.config["model"],
                 context.system_properties.get("batch_size"))
        return None
    bodies, statuses = _answer_batch(data, context)
    # No response headers, not even Content-Type: MMS 1.1.11's frontend misreads a worker's reply whose
    # header tables arrive split across socket reads ("Message size exceed limit"), and drops the worker.
    for index, status in enumerate(statuses):
        if status != 200:
            context.set_response_status(status, REASONS.get(status, "Error"), index)
    log.info("crepe handler: answered a batch of %d requests", len(data))
    return bodies
