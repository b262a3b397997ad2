"""The static demo: a folder that any static host serves, where the browser runs the model itself.

``python -m crepe export --model DIR --format web --out SITE`` writes the demo page
(``crepe/serving/page/``), the model as ONNX with its description, a ``config.json`` that points the page at
them, and the onnxruntime-web files (WASM backend) of the version pinned by ``web/package-lock.json``. No
model server, no CDN: the page loads nothing from another origin.

The onnxruntime-web files come from the npm registry through ``npm ci`` in ``web/`` (needs Node and npm);
only building the folder needs them, not serving it.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import UsageError
from .files import write_json
from .serving.page_server import PAGE_FILES

__all__ = ["WEB_DIRECTORY", "ORT_FILES", "PAGE_COPIED", "ort_directory", "site_config", "write_site",
           "browser_documents"]

#: The npm project that pins onnxruntime-web (package.json, package-lock.json with integrity hashes).
WEB_DIRECTORY = Path(__file__).resolve().parents[1] / "web"
#: The onnxruntime-web files the page needs for its WASM backend (single-threaded: no cross-origin isolation).
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")
#: The page's files copied into the site: those the page server serves (index.html once).
PAGE_COPIED = tuple(dict.fromkeys(name for name, _ in PAGE_FILES.values()))
#: Names inside the site.
MODEL_FILE, DESCRIPTION_FILE, ORT_FOLDER = "model.onnx", "model.json", "ort"


def pinned_version(web=None):
    """The onnxruntime-web version that ``web/package-lock.json`` pins.

    Examples
    --------
    >>> pinned_version().count(".")
    2
    """
    lock = json.loads((Path(web or WEB_DIRECTORY) / "package-lock.json").read_text(encoding="utf-8"))
    return lock["packages"]["node_modules/onnxruntime-web"]["version"]


def ort_directory(web=None):
    """The installed onnxruntime-web ``dist`` folder, checked against the pinned version, else UsageError.

    ``web``: the npm project (default :data:`WEB_DIRECTORY`).
    """
    web = Path(web or WEB_DIRECTORY)
    if not (web / "package-lock.json").is_file():
        raise UsageError(f"there is no {web / 'package-lock.json'}: this crepe was installed without the workshop's "
                         "web/ folder, which pins onnxruntime-web; build the browser's files from a clone of it")
    package = web / "node_modules" / "onnxruntime-web"
    hint = f"run `npm ci` in {web} (it needs Node and npm)"
    try:
        installed = json.loads((package / "package.json").read_text(encoding="utf-8"))["version"]
    except FileNotFoundError:
        raise UsageError(f"the onnxruntime-web files are not installed in {package}; {hint}") from None
    if installed != pinned_version(web):
        raise UsageError(f"{package} holds onnxruntime-web {installed}, but web/package-lock.json pins "
                         f"{pinned_version(web)}; {hint}")
    missing = [name for name in ORT_FILES if not (package / "dist" / name).is_file()]
    if missing:
        raise UsageError(f"{package}/dist lacks {', '.join(missing)}; {hint}")
    return package / "dist"


def site_config(config, examples=()):
    """The page's ``config.json`` in the static demo: no predictions path (no server), the model in ONNX.

    Examples
    --------
    >>> site_config({"model": "crepe", "classes": ["a", "b"]})["onnx"]
    'model.onnx'
    """
    return {"model": config["model"], "classes": list(config["classes"]), "examples": list(examples),
            "onnx": MODEL_FILE, "description": DESCRIPTION_FILE, "ort": f"{ORT_FOLDER}/"}


def _examples(config):
    from .serving.archive import _examples as examples

    return examples(config)


def write_site(net, config, out, page=None):
    """Write the static demo into ``out``: built beside it, then renamed into place (whole or absent).

    Parameters
    ----------
    net : Crepe
    config : dict
        The model directory's ``config.json``.
    out : str or Path
        A new folder, or one this function wrote before (replaced).
    page : Path, optional
        The page's folder (default ``crepe/serving/page``).

    Returns
    -------
    Path
    """
    from .families import family_of
    from .onnx_export import write_onnx
    from .serving.page_server import PAGE_DIRECTORY

    if family_of(net).name != "crepe":
        raise UsageError("the static demo runs Crepe (character frames); export a word CNN with --format onnx")
    out = Path(out)
    if out.exists() and not (out / "config.json").is_file():
        raise UsageError(f"{out} exists and is not a static demo written before; give a new folder")
    ort = ort_directory()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name in PAGE_COPIED:
            shutil.copy(Path(page or PAGE_DIRECTORY) / name, staging / name)
        (staging / ORT_FOLDER).mkdir()
        for name in ORT_FILES:
            shutil.copy(ort / name, staging / ORT_FOLDER / name)
        write_onnx(net, config, staging / MODEL_FILE)
        write_json(staging / "config.json", site_config(config, _examples(config)))
        os.chmod(staging, 0o755)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


#: Content types of the files the page server serves for the model in the browser.
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
                 ".wasm": "application/wasm", ".onnx": "application/octet-stream",
                 ".json": "application/json"}


def browser_documents(net, config):
    """The model in the browser for the page that ``serve`` shows: (documents, keys for its config.json).

    Parameters
    ----------
    net : Crepe
    config : dict
        The model directory's ``config.json``.

    Returns
    -------
    (dict, dict)
        ``{url path: (bytes, content type)}`` for ``start_page_server(..., extra=)``, and the ``onnx``,
        ``description`` and ``ort`` keys to add to the page's config, so that it answers in the browser
        beside the server. UsageError (one sentence) when the onnxruntime-web files are not installed or the
        model is not a Crepe.
    """
    from .families import family_of
    from .onnx_export import describe, to_onnx

    if family_of(net).name != "crepe":
        raise UsageError("the model runs in the browser for Crepe only (character frames)")
    ort = ort_directory()
    documents = {f"/{ORT_FOLDER}/{name}": ((ort / name).read_bytes(), CONTENT_TYPES[Path(name).suffix])
                 for name in ORT_FILES}
    documents[f"/{MODEL_FILE}"] = (to_onnx(net).SerializeToString(), CONTENT_TYPES[".onnx"])
    documents[f"/{DESCRIPTION_FILE}"] = (json.dumps(describe(net, config)).encode("utf-8"), CONTENT_TYPES[".json"])
    keys = {key: value for key, value in site_config(config).items() if key in ("onnx", "description", "ort")}
    return documents, keys
