"""A model archive for MXNet Model Server: ``python -m crepe package --model DIR [--out FILE.mar]``.

An archive (a zip file, ``.mar``) holds:

* the exported network, ``model-symbol.json`` and ``model-0000.params``, as ``crepe export`` writes them;
* ``config.json`` (what rebuilds the network) and the family's extra files (``vocab.json``);
* ``serving.json``: the family, classes, alphabet, frame length, vocabulary file, a few example texts
  for the demo page, and the SHA-256 of every other file;
* ``crepe_handler.py``, a copy of :mod:`crepe.handler`, and the manifest ``model-archiver`` writes.

Loading (:func:`load_archived_model`) checks every digest first and refuses a mismatch in one sentence.
Weights are read with ``mx.nd.load`` (MXNet's NDArray format); nothing is unpickled, and no code of the
archive runs except the handler module it was built with.
"""
import json
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import CheckpointError, UsageError

__all__ = ["HANDLER", "describe", "package", "check_archive", "read_description", "load_archived_model"]

HELP = "make a model archive (.mar) for MXNet Model Server"
#: The handler module's name inside an archive, and the manifest's entry point.
HANDLER, ENTRY_POINT = "crepe_handler.py", "crepe_handler:handle"
#: The archive's own description, and the prefix of its exported network.
DESCRIPTION, EXPORT_PREFIX = "serving.json", "model"
#: Example texts the demo page's "random example" button draws from (from the data set's test rows).
EXAMPLES = 40


def _examples(config):
    """Up to :data:`EXAMPLES` test texts of the bundled data set the model was trained on, else none.

    Examples
    --------
    >>> len(_examples({"run": {"dataset": "sample"}})), _examples({"run": {"dataset": "ag_news"}})
    (40, [])
    """
    from .data import BUNDLED, load_evaluation_set
    from .errors import DataError

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
    >>> d["family"], d["files"]
    ('crepe', {'model-0000.params': '00ff'})
    """
    return {"format": 1, "family": config["model"], "classes": config["classes"],
            "alphabet": config.get("alphabet"), "frame_length": config.get("frame_length"),
            "vocabulary": config.get("vocabulary"), "symbol": f"{EXPORT_PREFIX}-symbol.json",
            "params": f"{EXPORT_PREFIX}-0000.params", "prefix": prefix, "examples": list(examples),
            "files": dict(files)}


def _stage(model_dir, staging):
    """Write the archive's files into ``staging`` (a fresh folder)."""
    from . import handler
    from .families import FAMILIES
    from .files import sha256_of, write_json
    from .inference import export, load_model

    net, config = load_model(model_dir)
    export(net, staging / EXPORT_PREFIX)
    write_json(staging / "config.json", config)
    FAMILIES[config["model"]].save_extra(net, staging)
    shutil.copyfile(handler.__file__, staging / HANDLER)
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
    from .checkpoint import read_config

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
    if DESCRIPTION not in names:
        raise CheckpointError(f"{DESCRIPTION}: missing; this is not an archive made by `python -m crepe package`")
    try:
        description = json.loads(read(DESCRIPTION).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{DESCRIPTION}: not valid JSON ({error})") from None
    if not isinstance(description, dict) or not isinstance(description.get("files"), dict):
        raise CheckpointError(f"{DESCRIPTION}: has no 'files' table of digests")
    return description


def _verify(names, read, where):
    """Every file of the description present with its digest; the description, checked."""
    import hashlib

    description = read_description(names, read)
    for name, digest in description["files"].items():
        if name not in names:
            raise CheckpointError(f"{where}: {name} is missing from the archive")
        if hashlib.sha256(read(name)).hexdigest() != digest:
            raise CheckpointError(f"{where}: {name} is damaged (its SHA-256 differs from the one recorded when the "
                                  "archive was made); package the model again")
    return description


def check_archive(path):
    """The description of a ``.mar`` file, after checking every digest, without unpacking it.

    Raises
    ------
    CheckpointError
        Naming the archive and the file: not a zip, no description, a file missing or damaged.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            return _verify(names, archive.read, path)
    except (zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"{path}: not a model archive ({error})") from None


def load_archived_model(directory, ctx=None):
    """The network of an unpacked archive (the server's ``model_dir``), after checking every digest.

    Returns
    -------
    (Crepe or WordCNN, dict)
        The network, hybridised, with the exported weights, and its ``config.json``.
    """
    import mxnet as mx

    from .checkpoint import read_config
    from .families import FAMILIES, hybridize

    directory = Path(directory)
    names = {path.name for path in directory.iterdir()}
    description = _verify(names, lambda name: (directory / name).read_bytes(), directory)
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
