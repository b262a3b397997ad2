"""An exported model run by ONNX Runtime, from its ``.onnx`` file and description alone (no MXNet).

Texts are encoded from the description: Crepe's frames by :func:`crepe.quantise.encode` (the alphabet and
frame length are checked against the description's), the word CNN's token ids by the description's own
vocabulary and token pattern.
"""
import json
import re
from pathlib import Path

import numpy as np

from .errors import UsageError

__all__ = ["OnnxModel", "load_onnx"]


class OnnxModel:
    """An ONNX Runtime session with the description written beside the model.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    description : dict
        As :func:`crepe.onnx_export.describe` writes it.
    """

    def __init__(self, session, description):
        self.session, self.description = session, description
        self.classes = description["classes"]
        self.dtype = np.dtype(description["input"]["dtype"])
        if description["family"] == "word":
            self.ids = {token: index for index, token in enumerate(description["vocabulary"])}
            self.pattern = re.compile(description["token_pattern"])

    def encode(self, texts):
        """The model's input for ``texts``: (N, frame_length) frames, or one (1, tokens) row per text."""
        if self.description["family"] == "crepe":
            from .quantise import encode

            return encode(texts, self.description["frame_length"]).astype(self.dtype)     # (N, 1014)
        d = self.description
        rows = []
        for text in texts:
            ids = [self.ids.get(token, d["unknown"]) for token in self.pattern.findall(text.lower())[:d["max_length"]]]
            rows.append(np.array([ids + [d["padding"]] * (d["min_length"] - len(ids))], dtype=self.dtype))
        return rows                                                                           # each (1, tokens)

    def probabilities(self, texts):
        """Class probabilities, (N, classes) float32, in one run for Crepe and one run per text for words.

        Examples
        --------
        >>> import tempfile
        >>> from crepe.model import Crepe
        >>> from crepe.onnx_export import write_onnx
        >>> net = Crepe(3); net.initialize()
        >>> path, _ = write_onnx(net, {"classes": ["a", "b", "c"]}, Path(tempfile.mkdtemp()) / "m.onnx")
        >>> load_onnx(path).probabilities(["one", "two"]).shape
        (2, 3)
        """
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        name = self.description["input"]["name"]
        encoded = self.encode(texts)
        if isinstance(encoded, np.ndarray):
            return self.session.run(None, {name: encoded})[0]
        return np.concatenate([self.session.run(None, {name: row})[0] for row in encoded])


def load_onnx(path, threads=None):
    """An :class:`OnnxModel` from a ``.onnx`` file and the ``.json`` description beside it.

    Parameters
    ----------
    path : str or Path
    threads : int, optional
        ONNX Runtime's intra-op threads (default: its own choice).
    """
    import onnxruntime

    from .onnx_export import description_path

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such ONNX file; write it with python -m crepe export --format onnx")
    try:
        description = json.loads(description_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{description_path(path)}: missing (the description written beside the model)") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxModel(session, description)
