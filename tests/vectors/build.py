"""Write tests/vectors/quantise.json: hostile texts and the index frames crepe.quantise gives them.

One file asserted by every runtime that encodes a text for Crepe: Python (crepe.quantise), the serving
handler's path (crepe.serving.handler.parse, then the family's inputs) and the page's own encoder
(crepe/serving/page/encode.js) in Chromium. Run ``python -m tests.vectors.build`` after a change to the
quantisation rules; tests/test_vectors.py fails until then.
"""
import json
from pathlib import Path

from crepe.quantise import ALPHABET, FRAME_LENGTH, encode

PATH = Path(__file__).with_name("quantise.json")
#: (name, text, whether the handler refuses it: a text of white space only is "empty").
TEXTS = (
    ("headline", "Striker scores twice in the cup final", False),
    ("upper case", "WALL STREET CLOSES HIGHER; DOW +1.2%", False),
    ("every alphabet character", ALPHABET + ALPHABET.upper(), False),
    ("accents", "Zürich café: déjà vu for Škoda", False),
    ("combining accent", "cafe\u0301 society", False),
    ("dotted capital I and sharp s", "İstanbul STRASSE straße ﬁnal", False),
    ("emoji", "Goal! ⚽🎉 fans cheer 👩‍💻", False),
    ("longer than a frame", "Opening words that fall off. " + "Tariffs and trade talk. " * 42 + "THE END!", False),
    ("exactly a frame", "x" * (FRAME_LENGTH - 1) + "Y", False),
    ("control characters", "tab\there\x00nul\x07bell\x1bescape\x7fdel\r\nnext line", False),
    ("lone surrogate", "broken \ud800 pair", False),
    ("one character", ".", False),
    ("empty-ish, mostly white space", "   \u00a0 ? \u2003 ", False),
    ("white space only", " \t\u00a0\u2003\n", True),
)


def build():
    """The vectors: alphabet, frame length, and per text its name, text and frame (trailing zeros dropped)."""
    vectors = []
    for name, text, refused in TEXTS:
        frame = encode(text)[0].tolist()                                    # (1014,)
        while frame and frame[-1] == 0:
            frame.pop()
        vectors.append({"name": name, "text": text, "frame": frame, "refused_by_handler": refused})
    return {"alphabet": ALPHABET, "frame_length": FRAME_LENGTH, "vectors": vectors}


if __name__ == "__main__":
    built = build()
    rows = ",\n  ".join(json.dumps(vector) for vector in built.pop("vectors"))     # one text per line
    PATH.write_text(json.dumps(built)[:-1] + f', "vectors": [\n  {rows}\n]}}\n', encoding="utf-8")
    print(f"wrote {PATH}")
