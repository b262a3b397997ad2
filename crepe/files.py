"""Files that are either whole or absent: atomic writes and their SHA-256 digests.

Checkpoints and downloads share these. A file is written under a temporary name in its own folder,
flushed to disk and renamed into place, so a crash at any moment leaves the old file or the new
one, never half of one.
"""
import hashlib
import json
import os
from pathlib import Path

__all__ = ["sha256_of", "atomic_write", "write_json"]

#: Bytes read at a time when hashing.
BLOCK = 1 << 20


def sha256_of(path):
    """The SHA-256 hex digest of a file, read in 1 MiB blocks.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "empty")
    >>> open(path, "wb").close()
    >>> sha256_of(path)[:16]
    'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, write):
    """Call ``write(temporary_path)``, flush it to disk, rename it to ``path``; return its SHA-256.

    A crash at any moment leaves either the old file or the new one, never half of one, and no
    temporary file behind.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> digest = atomic_write(path, lambda temporary: open(temporary, "w").write("hello"))
    >>> open(path).read(), len(digest)
    ('hello', 64)
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(str(temporary))
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        digest = sha256_of(temporary)
        os.replace(temporary, path)
        return digest
    finally:
        if temporary.exists():
            temporary.unlink()


def write_json(path, value):
    """Write ``value`` as JSON, atomically; return the file's SHA-256.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "value.json")
    >>> _ = write_json(path, {"epoch": 1})
    >>> open(path).read()
    '{\\n "epoch": 1\\n}'
    """
    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=1)
    return atomic_write(path, write)
