"""A model archive for MXNet Model Server: ``python -m crepe package --model DIR [--out FILE.mar]``.

An archive (a zip file, ``.mar``) holds:

* the exported network, ``model-symbol.json`` and ``model-0000.params``, as ``crepe export`` writes them;
* ``config.json`` (what rebuilds the network) and the family's extra files (``vocab.json``);
* ``serving.json``: its own format version, the version of crepe that made it, the family, classes,
  alphabet, frame length, vocabulary file, a few example texts for the demo page, and the SHA-256 of
  every other file;
* ``crepe_handler.py``, a one-line shim into the installed :mod:`crepe.serving.handler` (:data:`SHIM`), and the
  manifest ``model-archiver`` writes.

The archive is strict (:func:`check_archive` before the server sees it, and again when a worker loads
it): a member not listed in ``serving.json`` (besides it and the manifest), a manifest that names
another handler, a handler that is not exactly the shim, another crepe version or format, or a damaged
file is refused in one sentence. This matters before anything is imported: MXNet Model Server puts the
unpacked archive at the front of the worker's ``PYTHONPATH``, so a ``json.py`` inside would run first.
The digests sit inside the archive they describe, so they give integrity, not authenticity; pin an
archive you trust with ``serve --sha256 HEX``. Weights are read with ``mx.nd.load`` (MXNet's NDArray
format); nothing is unpickled.
"""
import json
import random
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import CheckpointError, UsageError

__all__ = ["HANDLER", "SHIM", "FORMAT", "describe", "package", "check_archive", "check_unpacked", "read_description",
           "load_archived_model"]

HELP = "make a model archive (.mar) for MXNet Model Server"
#: The handler module's name inside an archive, and the manifest's entry point.
HANDLER, ENTRY_POINT = "crepe_handler.py", "crepe_handler:handle"
#: The handler module inside every archive: one line into the installed crepe.
SHIM = "from crepe.serving.handler import handle  # noqa: F401\n"
#: The archive's own description, the manifest model-archiver writes, and the prefix of the exported network.
DESCRIPTION, MANIFEST, EXPORT_PREFIX = "serving.json", "MAR-INF/MANIFEST.json", "model"
#: The version of serving.json's layout; an archive of another format is refused.
FORMAT = 2
#: Example texts the demo page's "random example" button draws from (from the data set's test rows).
EXAMPLES = 40


def _examples(config):
    """Up to :data:`EXAMPLES` test texts of the bundled data set the model was trained on, else none.

    Examples
    --------
    >>> len(_examples({"run": {"dataset": "sample"}})), _examples({"run": {"dataset": "ag_news"}})
    (40, [])
    """
    from ..data import BUNDLED, load_evaluation_set
    from ..errors import DataError

    name = config.get("run", {}).get("dataset")
    if name not in BUNDLED:                     # nothing is downloaded for this: the page has examples of its own
        return []
    try:
        texts = load_evaluation_set(name)["rows"][0]
    except (DataError, OSError):
        return []
    return random.Random(0).sample(list(texts), min(EXAMPLES, len(texts)))


def describe(config, files, prefix, examples=()):
    """The archive's ``serving.json``: what the handler and the demo page need, and every file's digest.

    Examples
    --------
    >>> d = describe({"model": "crepe", "classes": ["a", "b"], "frame_length": 1014, "alphabet": "ab"},
    ...              {"model-0000.params": "00ff"}, "crepe0_")
    >>> d["family"], d["files"], d["format"] == FORMAT
    ('crepe', {'model-0000.params': '00ff'}, True)
    """
    from .. import __version__

    return {"format": FORMAT, "crepe": __version__, "family": config["model"], "classes": config["classes"],
            "alphabet": config.get("alphabet"), "frame_length": config.get("frame_length"),
            "vocabulary": config.get("vocabulary"), "symbol": f"{EXPORT_PREFIX}-symbol.json",
            "params": f"{EXPORT_PREFIX}-0000.params", "prefix": prefix, "examples": list(examples),
            "files": dict(files)}


def _stage(model_dir, staging):
    """Write the archive's files into ``staging`` (a fresh folder)."""
    from ..families import FAMILIES
    from ..files import sha256_of, write_json
    from ..inference import export, load_model

    net, config = load_model(model_dir)
    export(net, staging / EXPORT_PREFIX)
    write_json(staging / "config.json", config)
    FAMILIES[config["model"]].save_extra(net, staging)
    (staging / HANDLER).write_text(SHIM, encoding="utf-8")
    files = {path.name: sha256_of(path) for path in sorted(staging.iterdir())}
    write_json(staging / DESCRIPTION, describe(config, files, net.prefix, _examples(config)))
    return config


def package(model_dir, out=None, name=None):
    """Build a ``.mar`` archive of a model directory's best weights.

    Parameters
    ----------
    model_dir : str or Path
        A directory written by ``python -m crepe train``.
    out : str or Path, optional
        The archive (default ``<model_dir>/exported/<name>.mar``); replaced atomically.
    name : str, optional
        The model's name in the server's URLs (default the family, ``crepe`` or ``word``).

    Returns
    -------
    Path
    """
    from ..checkpoint import read_config

    model_dir = Path(model_dir)
    name = name or read_config(model_dir)["model"]
    out = Path(out or model_dir / "exported" / f"{name}.mar")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".package-") as work:
        staging, export_path = Path(work) / "files", Path(work) / "archive"
        staging.mkdir()
        export_path.mkdir()
        _stage(model_dir, staging)
        command = [sys.executable, "-m", "model_archiver.model_packaging", "--model-name", name,
                   "--model-path", str(staging), "--handler", ENTRY_POINT, "--export-path", str(export_path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise UsageError("model-archiver is not installed; run `make setup`") from None
        archive = export_path / f"{name}.mar"
        if done.returncode != 0 or not archive.is_file():
            message = (done.stderr or done.stdout).strip().splitlines()
            raise UsageError(f"model-archiver failed: {message[-1] if message else 'no message'}")
        archive.replace(out)
    return out


def read_description(names, read):
    """``serving.json`` as a dict, checked; ``read(name)`` gives a file's bytes (folder or zip alike)."""
    from .. import __version__

    if DESCRIPTION not in names:
        raise CheckpointError(f"{DESCRIPTION}: missing; this is not an archive made by `python -m crepe package`")
    try:
        description = json.loads(read(DESCRIPTION).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CheckpointError(f"{DESCRIPTION}: not valid JSON ({error})") from None
    if not isinstance(description, dict) or not isinstance(description.get("files"), dict):
        raise CheckpointError(f"{DESCRIPTION}: has no 'files' table of digests")
    made = (description.get("crepe"), description.get("format"))
    if made != (__version__, FORMAT):
        raise CheckpointError(f"{DESCRIPTION}: made by crepe {made[0]} (format {made[1]}), and this is crepe "
                              f"{__version__} (format {FORMAT}); package the model again with this crepe")
    return description


def _check_manifest(names, read, where):
    """The manifest exists and names :data:`ENTRY_POINT` as the handler, else CheckpointError."""
    if MANIFEST not in names:
        raise CheckpointError(f"{where}: {MANIFEST} is missing; this is not an archive made by `python -m crepe "
                              "package`")
    try:
        handler = json.loads(read(MANIFEST).decode("utf-8"))["model"]["handler"]
    except (UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError):
        raise CheckpointError(f"{where}: {MANIFEST} is not the manifest model-archiver writes") from None
    if handler != ENTRY_POINT:
        raise CheckpointError(f"{where}: {MANIFEST} names the handler {str(handler)[:80]!r}, not {ENTRY_POINT!r}; "
                              "this archive would run code of its own")


def _verify(names, read, where):
    """The description, after checking the members, the manifest, the shim and every digest.

    ``names`` are the archive's files (relative paths; no folders); nothing of the archive is imported.
    """
    import hashlib

    description = read_description(names, read)
    extra = sorted(set(names) - set(description["files"]) - {DESCRIPTION, MANIFEST})
    if extra:
        raise CheckpointError(f"{where}: {extra[0]} is not listed in {DESCRIPTION}; an archive holds only what "
                              "`python -m crepe package` puts in it")
    _check_manifest(names, read, where)
    for name, digest in description["files"].items():
        if name not in names:
            raise CheckpointError(f"{where}: {name} is missing from the archive")
        if hashlib.sha256(read(name)).hexdigest() != digest:
            raise CheckpointError(f"{where}: {name} is damaged (its SHA-256 differs from the one recorded when the "
                                  "archive was made); package the model again")
    if HANDLER not in names or read(HANDLER).decode("utf-8", "replace") != SHIM:
        raise CheckpointError(f"{where}: {HANDLER} is not the one-line handler `python -m crepe package` writes")
    return description


def check_archive(path, sha256=None):
    """The description of a ``.mar`` file, after checking it strictly, without unpacking it.

    Parameters
    ----------
    path : str or Path
    sha256 : str, optional
        The SHA-256 (hex) the whole file must have: it pins an archive you trust.

    Raises
    ------
    CheckpointError
        Naming the archive and the file: not a zip, another SHA-256, a member not listed, a foreign
        manifest or handler, another crepe version, no description, a file missing or damaged.
    """
    from ..files import sha256_of

    path = Path(path)
    if sha256 is not None and sha256_of(path) != sha256.strip().lower():
        raise CheckpointError(f"{path}: its SHA-256 is {sha256_of(path)}, not the {sha256.strip()} given with "
                              "--sha256")
    try:
        with zipfile.ZipFile(path) as archive:
            names = {name for name in archive.namelist() if not name.endswith("/")}
            return _verify(names, archive.read, path)
    except (zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"{path}: not a model archive ({error})") from None


def archive_members(directory):
    """The files of an unpacked archive, as relative paths; Python's own ``__pycache__`` is left out.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()); (folder / "MAR-INF").mkdir(); _ = (folder / "MAR-INF" / "m").write_text("")
    >>> sorted(archive_members(folder))
    ['MAR-INF/m']
    """
    directory = Path(directory)
    return {path.relative_to(directory).as_posix() for path in directory.rglob("*")
            if path.is_file() and "__pycache__" not in path.relative_to(directory).parts}


def check_unpacked(directory):
    """The description of an unpacked archive (the server's ``model_dir``), checked as strictly."""
    directory = Path(directory)
    return _verify(archive_members(directory), lambda name: (directory / name).read_bytes(), directory)


def load_archived_model(directory, ctx=None):
    """The network of an unpacked archive (the server's ``model_dir``), after checking every digest.

    Returns
    -------
    (Crepe or WordCNN, dict)
        The network, hybridised, with the exported weights, and its ``config.json``.
    """
    import mxnet as mx

    from ..checkpoint import read_config
    from ..families import FAMILIES, hybridize

    directory = Path(directory)
    description = check_unpacked(directory)
    config = read_config(directory)
    net = FAMILIES[config["model"]].rebuild(config, directory)
    try:
        saved = mx.nd.load(str(directory / description["params"]))          # a dict of NDArrays, no pickle
    except mx.base.MXNetError:
        raise CheckpointError(f"{directory / description['params']}: not an MXNet weights file") from None
    own = net.collect_params()
    weights = {net.prefix + key.split(":", 1)[-1][len(description["prefix"]):]: value for key, value in saved.items()}
    if set(weights) != set(own.keys()):
        raise CheckpointError(f"{directory / description['params']} does not fit the network config.json describes")
    for key, parameter in own.items():
        parameter.shape = weights[key].shape
        parameter.initialize(ctx=ctx or mx.cpu())
        parameter.set_data(weights[key])
    return hybridize(net), config


def add_arguments(parser):
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--out", type=Path, help="the archive (default <model>/exported/<name>.mar)")
    parser.add_argument("--name", help="the model's name in the server's URLs (default: crepe or word)")


def run(args):
    out = package(args.model, args.out, args.name)
    print(f"packaged {out} ({out.stat().st_size / 1e6:.1f} MB); serve it with: python -m crepe serve --model {out}")
