"""Character quantisation: from text to the index frame Crepe reads.

Crepe (Zhang, Zhao & LeCun, NIPS 2015) sees a document as a fixed-length sequence of one-hot
character vectors. This module keeps the sequence as ``uint8`` *indices* (1 byte per character)
and expands to one-hot only where a float tensor is needed.

The alphabet
------------
``ALPHABET`` is the talk's 69 characters: 26 letters, 10 digits, 32 punctuation marks and the
space. The paper speaks of 70: 26 letters, 10 digits, 33 "other characters" (its list holds ``-``
twice, so 32 distinct) and the newline, with no space. The original Lua code
(``zhangxiangxiao/Crepe``, ``train/config.lua``) has that list without the newline, so it has 68
distinct characters and one input row that is always zero. Here a
newline, like every character outside the alphabet, maps to "no character".

Quantisation rules (the original's ``Data:stringToTensor`` after commit 56a2770, "Fix data
quantization bug")
-----------------------------------------------------------------------------------------
1. Lower-case. Only ASCII ``A``-``Z`` are folded, as Lua's ``string.lower`` does, so every input
   character keeps exactly one column.
2. Keep the **last** ``FRAME_LENGTH`` characters.
3. Write them last character first: column 0 holds the final character of the text.
4. Pad with "no character" (index 0) at the end of the frame.

A character outside the alphabet keeps its column (index 0), so positions never shift. The
original works on UTF-8 bytes, so a non-ASCII character there becomes several zero columns; here a
Python string gives one column per code point (``"é"`` is one zero column, not two).
"""
import numpy as np

__all__ = ["ALPHABET", "FRAME_LENGTH", "NUM_CHARS", "encode", "one_hot", "decode"]

#: The 69 characters Crepe knows, in input-row order (space included).
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+ =<>()[]{}"
#: Characters per document frame, as in the paper.
FRAME_LENGTH = 1014
#: Number of one-hot rows (``len(ALPHABET)``).
NUM_CHARS = len(ALPHABET)

# Code point -> index (0 = not in the alphabet). Upper-case ASCII shares its lower-case index, so
# lower-casing and lookup are one vectorised gather.
_LOOKUP = np.zeros(0x110000, dtype=np.uint8)
for _i, _c in enumerate(ALPHABET, start=1):
    _LOOKUP[ord(_c)] = _i
    if "a" <= _c <= "z":
        _LOOKUP[ord(_c.upper())] = _i
_CHARS = np.array(["\0"] + list(ALPHABET), dtype=object)


def _as_text_list(texts):
    """Return ``texts`` as a list of ``str``, a lone string becoming a list of one."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError("encode expects str or an iterable of str, got bytes: decode it first, "
                        "e.g. data.decode('utf-8')")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"encode expects str or an iterable of str, got {type(texts).__name__}") from None
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"encode expects str elements, but element {position} is "
                            f"{type(item).__name__}: {item!r:.60}")
    return items


def encode(texts, length=FRAME_LENGTH):
    """Quantise texts into Crepe's index frames.

    Parameters
    ----------
    texts : str or iterable of str
        One document, or several.
    length : int, optional
        Frame length in characters (default ``FRAME_LENGTH`` = 1014).

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(N, length)``: 0 is "no character" (padding, or a character
        outside the alphabet), ``ALPHABET[i]`` is ``i + 1``. Column 0 is the text's last character.

    Raises
    ------
    TypeError
        If ``texts`` is not a string or iterable of strings (the message names the position).
    ValueError
        If ``length`` is not a positive integer.

    Examples
    --------
    >>> encode("Abc!", length=6)
    array([[41,  3,  2,  1,  0,  0]], dtype=uint8)
    >>> encode(["ab", "zé"], length=3)
    array([[ 2,  1,  0],
           [ 0, 26,  0]], dtype=uint8)
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    items = _as_text_list(texts)
    # Per document at C speed: keep the last `length` characters, last character first.
    pieces = [text[-length:][::-1] for text in items]
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    # One buffer of code points for the whole batch; lone surrogates pass through unharmed.
    codes = np.frombuffer("".join(pieces).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    frame = np.zeros((len(pieces), length), dtype=np.uint8)             # (N, length)
    # Row-major boolean mask of the used columns: the codes fill it in exactly that order.
    frame[np.arange(length) < lengths[:, np.newaxis]] = _LOOKUP[codes]
    return frame


def _check_indices(indices):
    """Return ``indices`` as a 2-D integer array with values in ``[0, NUM_CHARS]``."""
    array = np.asarray(indices)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(f"expected indices of shape (N, length) or (length,), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"expected integer indices (as returned by encode), got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() > NUM_CHARS):
        raise ValueError(f"indices must lie in [0, {NUM_CHARS}], got values from "
                         f"{array.min()} to {array.max()}")
    return array


def one_hot(indices):
    """Expand index frames to Crepe's one-hot input.

    Parameters
    ----------
    indices : array_like of int, shape (N, length) or (length,)
        Frames from :func:`encode`.

    Returns
    -------
    numpy.ndarray
        ``float32`` array of shape ``(N, NUM_CHARS, length)``; row ``i`` is ``ALPHABET[i]``; a
        column for index 0 is all zeros.

    Examples
    --------
    >>> x = one_hot(encode("ba", length=3))
    >>> x.shape
    (1, 69, 3)
    >>> x[0, :2]
    array([[1., 0., 0.],
           [0., 1., 0.]], dtype=float32)
    """
    array = _check_indices(indices)
    out = np.zeros((array.shape[0], NUM_CHARS, array.shape[1]), dtype=np.float32)  # (N, 69, length)
    doc, pos = np.nonzero(array)
    out[doc, array[doc, pos].astype(np.int64) - 1, pos] = 1.0
    return out


def decode(indices, missing="\ufffd", reading_order=True):
    """Turn index frames back into the text the network sees.

    Parameters
    ----------
    indices : array_like of int, shape (N, length) or (length,)
        Frames from :func:`encode`.
    missing : str, optional
        Shown for a "no character" column inside the text (default U+FFFD).
    reading_order : bool, optional
        If True (default), undo the backward order so the text reads left to right; if False,
        give the characters in frame order (column 0 first).

    Returns
    -------
    str or list of str
        A string for one frame of shape ``(length,)``, else a list of N strings. Padding at the
        end of the frame is dropped (a leading unknown character is indistinguishable from it).

    Examples
    --------
    >>> decode(encode("Hello, Wörld!"))
    ['hello, w\ufffdrld!']
    >>> decode(encode("abc")[0], reading_order=False)
    'cba'
    """
    single = np.ndim(indices) == 1
    array = _check_indices(indices)
    chars = _CHARS[array.astype(np.int64)]
    chars[array == 0] = missing
    texts = []
    for row, doc in zip(array, chars):
        used = np.flatnonzero(row)
        doc = doc[: used[-1] + 1] if used.size else doc[:0]
        texts.append("".join(doc[::-1] if reading_order else doc))
    return texts[0] if single else texts
