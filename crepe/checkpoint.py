"""The model directory: what is written, in which order, and how it is read back.

A model directory holds:

- ``config.json``: what the network is (its family's entry in :mod:`crepe.families`: for Crepe the
  size, architecture, frame length and alphabet) and how the run was configured (the
  :class:`crepe.settings.TrainSettings`, the data set and its digest, the validation fraction), so
  that a ``--resume`` with other settings is refused;
- ``epoch-NNNN.params``: the weights after epoch N (MXNet's NDArray format);
- ``epoch-NNNN.states``: the optimiser's arrays after epoch N (:mod:`crepe.optimizer_state`);
- ``state.json``: the last completed epoch, the history, the optimiser's counters, the name of the
  best epoch's weights, and the SHA-256 of every file it names;
- the family's own files (``vocab.json`` for the word CNN).

Nothing here is unpickled: weights and optimiser arrays are NDArray files, everything else is JSON.
Every file is written atomically (:func:`crepe.files.atomic_write`), and ``state.json`` is replaced
last, with SIGINT and SIGTERM held back until it has been: the directory always describes one
completed epoch, whichever moment a run is stopped.
"""
import json
import os
from pathlib import Path

from .errors import CheckpointError
from .families import FAMILIES, family_of
from .files import atomic_write, sha256_of, write_json
from .optimizer_state import save_optimizer
from .signals import deferred_signals

__all__ = ["FORMAT_VERSION", "RUN_FILES", "read_json", "verify", "model_config", "save_config", "read_config",
           "read_state", "load_parameters", "differences", "prepare_directory", "check_writable", "commit_epoch"]

#: Version of the model-directory layout. 2: optimiser state as NDArrays + JSON (1 was a pickle).
FORMAT_VERSION = 2

#: Files a training run writes; ``--overwrite`` removes exactly these before a new run.
RUN_FILES = ("config.json", "state.json", "epoch-*.params", "epoch-*.states",
             *sorted({name for family in FAMILIES.values() for name in family.files}))


def read_json(path):
    """Parse a JSON file, or raise :class:`CheckpointError` naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; is {Path(path).parent} a model directory written by "
                              "`python -m crepe train`?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: damaged ({error})") from None


def verify(path, expected):
    """Check that ``path`` exists and has the SHA-256 recorded for it."""
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: missing")
    if expected and sha256_of(path) != expected:
        raise CheckpointError(f"{path}: damaged (its checksum does not match the one recorded when it was "
                              "written); use an earlier epoch or train again")


def model_config(net, classes):
    """What ``config.json`` records about ``net``: enough to rebuild it without running any code.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> model_config(Crepe(2), ["no", "yes"])["architecture"]
    {'head': 'flatten', 'norm': None, 'init': 'gaussian', 'dropout': 0.5}
    """
    family = family_of(net)
    return {"format": FORMAT_VERSION, "model": family.name, "classes": list(classes), **family.config(net)}


def save_config(directory, net, classes, run=None):
    """Write ``config.json`` (the model, and the run's settings ``run``) and the family's own files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    family_of(net).save_extra(net, directory)
    write_json(directory / "config.json", {**model_config(net, classes), "run": run or {}})


def read_config(directory):
    """``config.json`` of a model directory, checked against what this version can rebuild."""
    config = read_json(Path(directory) / "config.json")
    if not isinstance(config, dict) or config.get("model") not in FAMILIES:
        raise CheckpointError(f"{directory}/config.json does not describe a model of this workshop "
                              f"({', '.join(FAMILIES)})")
    if not isinstance(config.get("format"), int) or config["format"] > FORMAT_VERSION:
        raise CheckpointError(f"{directory} was written by a newer version of this workshop (format "
                              f"{config.get('format')}, this one reads up to {FORMAT_VERSION}); update the repository")
    if not isinstance(config.get("classes"), list) or len(config["classes"]) < 2:
        raise CheckpointError(f"{directory}/config.json: 'classes' must list at least two class names")
    FAMILIES[config["model"]].check_config(directory, config)
    return config


def read_state(directory):
    """``state.json``: the committed epoch, its files and their digests, the best epoch, the history."""
    state = read_json(Path(directory) / "state.json")
    needed = ("epoch", "params", "states", "sha256", "history")
    if not isinstance(state, dict) or any(key not in state for key in needed):
        raise CheckpointError(f"{directory}/state.json: damaged (missing one of {', '.join(needed)})")
    for key in ("params", "states", "best"):
        name = state.get(key)
        if name is not None and (not isinstance(name, str) or Path(name).name != name):
            raise CheckpointError(f"{directory}/state.json: {key} must be a file name in the model directory")
    return state


def _first_line(error):
    """The message of a loading error without any traceback lines, preferring the one about shapes."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Traceback", "File ", "[bt]", "Stack trace"))]
    shaped = [line for line in useful if "shape" in line.lower()]
    return (shaped or useful or [""])[0][:200]


def load_parameters(net, path, ctx):
    """Load weights (an NDArray file) into ``net``, turning any failure into one sentence naming ``path``."""
    import mxnet as mx

    try:
        net.load_parameters(str(path), ctx=ctx)
    except mx.base.MXNetError:              # MXNet could not read the file at all
        raise CheckpointError(f"{path}: not a weights file of this workshop (MXNet's NDArray format); use an "
                              "earlier epoch or train again") from None
    except (AssertionError, ValueError) as error:
        raise CheckpointError(f"{path} does not fit this model ({family_of(net).describe(net)}, "
                              f"{net.num_classes} classes): {_first_line(error)}") from None


def differences(saved, wanted):
    """``key: saved -> wanted`` for every setting that differs, for a refused ``--resume``.

    Examples
    --------
    >>> differences({"seed": 0, "lr": 0.002}, {"seed": 1, "lr": 0.002})
    ['seed: 0 -> 1']
    """
    keys = sorted(set(saved) | set(wanted))
    return [f"{key}: {saved.get(key)!r} -> {wanted.get(key)!r}" for key in keys if saved.get(key) != wanted.get(key)]


def prepare_directory(directory, overwrite=False):
    """Make ``directory`` ready for a new run: refuse one that holds a run, unless ``overwrite``.

    With ``overwrite`` only the files a run writes (:data:`RUN_FILES`) are removed.
    """
    directory = Path(directory)
    existing = [path for pattern in RUN_FILES for path in directory.glob(pattern)] if directory.is_dir() else []
    if existing and not overwrite:
        raise CheckpointError(f"{directory} already holds a training run; continue it with --resume, or "
                              "replace it with --overwrite (or choose another --out)")
    for path in existing:
        path.unlink()


def check_writable(directory):
    """Fail before training if the model directory cannot be written to."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_bytes(b"\0" * 4096)
        probe.unlink()
    except OSError as error:
        raise CheckpointError(f"cannot write checkpoints to {directory}: {error.strerror or error}") from None


def commit_epoch(directory, net, trainer, epoch, history, best):
    """Write epoch ``epoch``'s weights and optimiser state, then commit them by replacing state.json.

    Parameters
    ----------
    best : (str or None, float)
        The file name of the best epoch's weights so far (None: this epoch is the best) and its
        validation accuracy.

    SIGINT and SIGTERM are held back until state.json has been replaced, so the directory always
    names one complete epoch. Older epochs go, except the previous one (a fallback) and the best.

    Returns
    -------
    (str, float)
        The best epoch's weights file and its validation accuracy, as committed.
    """
    directory = Path(directory)
    params, states = f"epoch-{epoch:04d}.params", f"epoch-{epoch:04d}.states"
    best_name, best_accuracy = best
    best_name = best_name or params
    with deferred_signals():
        digests = {params: atomic_write(directory / params, net.save_parameters)}
        meta = {}

        def write_states(temporary):
            meta.update(save_optimizer(trainer, temporary))
        digests[states] = atomic_write(directory / states, write_states)
        if best_name not in digests:
            digests[best_name] = read_state(directory)["sha256"][best_name]
        write_json(directory / "state.json", {
            "format": FORMAT_VERSION, "epoch": epoch, "params": params, "states": states, "optimizer": meta,
            "best": best_name, "best_accuracy": best_accuracy, "sha256": digests, "history": history})
        keep = {params, states, best_name, f"epoch-{epoch - 1:04d}.params", f"epoch-{epoch - 1:04d}.states"}
        for old in list(directory.glob("epoch-*.params")) + list(directory.glob("epoch-*.states")):
            if old.name not in keep:
                old.unlink()
    return best_name, best_accuracy
