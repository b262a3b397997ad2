"""A released model directory: one trained run cut down to what inference needs, with its provenance.

A training run's directory keeps the last epoch, the one before and the best, each with its optimiser
state, so that ``--resume`` can go on. A release keeps only the best epoch's weights, ``config.json``
and the family's own files, and a ``state.json`` whose ``sha256`` names every one of them and whose
``release`` record says where the model came from (data, command, seed, date, accuracy). It loads with
:func:`crepe.inference.load_model` like any run; it cannot be resumed, since no optimiser state is kept.

The copy is written beside the target and renamed into place, so a reader sees the old release or
the new one, never half of one.
"""
import os
import shutil
from pathlib import Path

from . import checkpoint
from .errors import CheckpointError
from .families import FAMILIES
from .files import sha256_of, write_json

__all__ = ["release", "verify_release", "is_release"]


def is_release(state):
    """Whether a ``state.json`` describes a release (weights only, no optimiser state).

    Examples
    --------
    >>> is_release({"states": None, "release": {}}), is_release({"states": "epoch-0001.states"})
    (True, False)
    """
    return state.get("states") is None


def _kept_files(directory, config, state):
    """The files a release keeps: config.json, the family's own files, the best epoch's weights."""
    best = state.get("best") or state["params"]
    checkpoint.verify(Path(directory) / best, state["sha256"].get(best))
    return best, ["config.json", *FAMILIES[config["model"]].files, best]


def release(run, out, provenance):
    """Write the release of training run ``run`` to ``out`` (replacing any release there); return its state.

    Parameters
    ----------
    run : str or Path
        A model directory written by ``python -m crepe train``.
    out : str or Path
        Where the release goes.
    provenance : dict
        What the release record says (data and its digests, command, seed, date, accuracy); JSON only.
    """
    run, out = Path(run), Path(out)
    config, state = checkpoint.read_config(run), checkpoint.read_state(run)
    best, names = _kept_files(run, config, state)
    staging = out.with_name(f".{out.name}.new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in names:
        shutil.copyfile(run / name, staging / name)
    digests = {name: sha256_of(staging / name) for name in names}
    released = {"format": checkpoint.FORMAT_VERSION, "epoch": int(best.split("-")[1].split(".")[0]),
                "params": best, "states": None, "optimizer": None, "best": best,
                "best_accuracy": state.get("best_accuracy"), "sha256": digests, "history": state["history"],
                "release": provenance}
    write_json(staging / "state.json", released)
    _replace(staging, out)
    return released


def _replace(staging, out):
    """Rename ``staging`` to ``out``; an existing ``out`` is moved aside first and removed after."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.rename(out, old)
    os.rename(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def verify_release(directory):
    """Check every file ``state.json`` names against its SHA-256; return the state.

    Raises :class:`crepe.errors.CheckpointError` naming the first file that is missing or differs, and
    when the directory holds a weights file that ``state.json`` does not name (weights changed or
    added without ``state.json`` changing with them).
    """
    directory = Path(directory)
    state = checkpoint.read_state(directory)
    for name, digest in sorted(state["sha256"].items()):
        checkpoint.verify(directory / name, digest)
    unnamed = sorted(path.name for path in directory.glob("*.params") if path.name not in state["sha256"])
    if unnamed:
        raise CheckpointError(f"{directory}/{unnamed[0]}: not named in state.json, so nothing vouches for it")
    return state
