"""Downloads that never leave a file looking complete when it is not.

The transfer goes to a temporary file in the target folder (:func:`crepe.files.atomic_write`,
the same helper that writes checkpoints) and is renamed into place only once its SHA-256 matches
the pinned one. HTTPS only.
"""
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DataError
from .files import atomic_write, sha256_of

__all__ = ["download", "sha256_of"]


def download(url, path, sha256, timeout=30, progress=True, ssl_context=None):
    """Download ``url`` to ``path`` if it is not there yet, verified against ``sha256``.

    The transfer goes to a temporary file in the same folder, which is renamed to ``path`` only
    once its checksum matches: an interrupted or corrupt download never leaves a file that looks
    complete. An existing file is checked too, and replaced if it does not match.

    Parameters
    ----------
    url : str
        An ``https://`` address.
    path : str or Path
        Where the file belongs.
    sha256 : str
        The expected SHA-256 hex digest.
    timeout : float, optional
        Seconds without data before giving up (default 30).
    progress : bool, optional
        Show a tqdm progress bar (default True).
    ssl_context : ssl.SSLContext, optional
        Certificate checking to use instead of the system's (tests use a local server).

    Returns
    -------
    Path
        ``path``, verified.

    Raises
    ------
    DataError
        Not HTTPS, unreachable, an HTTP error, a timeout, or a checksum mismatch; the message says
        which URL to fetch by hand and where to put the file.
    """
    from tqdm import tqdm

    path = Path(path)
    if not url.startswith("https://"):
        raise DataError(f"refusing to download over an unencrypted connection: {url}")
    if path.is_file():
        if sha256_of(path) == sha256:
            return path
        raise DataError(f"{path} exists but its SHA-256 does not match the pinned checksum; delete it "
                        f"and run again, or fetch {url} by hand")
    by_hand = f"fetch {url} by hand (e.g. in a browser) and save it as {path}"
    path.parent.mkdir(parents=True, exist_ok=True)

    def fetch(temporary):
        with open(temporary, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout, context=ssl_context)
            except urllib.error.HTTPError as error:
                raise DataError(f"{url}: HTTP {error.code} {error.reason}; {by_hand}") from error
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise DataError(f"could not reach {url} ({reason}); {by_hand}") from error
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress) as bar:
                    while True:
                        try:
                            block = response.read(1 << 16)
                        except (OSError, ValueError) as error:
                            raise DataError(f"{url}: the transfer broke off ({error}); run again, or "
                                            f"{by_hand}") from error
                        if not block:
                            break
                        out.write(block)
                        bar.update(len(block))
            if total is not None and out.tell() != total:
                raise DataError(f"{url}: the transfer was cut short ({out.tell()} of {total} bytes); run "
                                f"again, or {by_hand}")
        got = sha256_of(temporary)
        if got != sha256:
            raise DataError(f"{url}: the download's SHA-256 is {got}, expected {sha256}; the file was "
                            f"discarded. Run again, or {by_hand}")

    atomic_write(path, fetch)          # renamed into place only once verified; nothing half-written stays
    return path
