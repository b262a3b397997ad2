"""The model directory: what is written, in which order, and how it is read back.

A model directory holds:

- ``config.json``: what the network is (family, size, architecture, classes, frame length, alphabet)
  and how the run was configured (data set and its digest, seed, validation fraction, recipe,
  learning rate, batch size), so that a ``--resume`` with other settings is refused;
- ``epoch-NNNN.params``: the weights after epoch N (MXNet's NDArray format);
- ``epoch-NNNN.states``: the optimiser's arrays after epoch N (NDArray format as well);
- ``state.json``: the last completed epoch, the history, the optimiser's counters, the name of the
  best epoch's weights, and the SHA-256 of every file it names;
- ``vocab.json`` for a word model.

Nothing here is unpickled: weights and optimiser arrays are NDArray files, everything else is JSON.
(MXNet's own ``Trainer.load_states`` unpickles, so it is never called.)

Every file is written under a temporary name and renamed into place (:func:`atomic_write`), and
``state.json`` is replaced last, with SIGINT and SIGTERM held back until it has been: the directory
always describes one completed epoch, whichever moment a run is stopped.
"""
import contextlib
import hashlib
import json
import os
import signal
import threading
from pathlib import Path

__all__ = ["FORMAT_VERSION", "CheckpointError", "atomic_write", "sha256_of", "write_json", "read_json",
           "deferred_signals", "save_optimizer", "load_optimizer", "verify"]

#: Version of the model-directory layout. 2: optimiser state as NDArrays + JSON (1 was a pickle).
FORMAT_VERSION = 2


class CheckpointError(RuntimeError):
    """A model directory or checkpoint that cannot be used; the message says which file and why."""


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
        for block in iter(lambda: handle.read(1 << 20), b""):
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
    """Write ``value`` as JSON, atomically."""
    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=1)
    return atomic_write(path, write)


def read_json(path):
    """Parse a JSON file, or raise :class:`CheckpointError` naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; is {Path(path).parent} a model directory written by "
                              "`python -m crepe train`?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: damaged ({error})") from error


def verify(path, expected):
    """Check that ``path`` exists and has the SHA-256 recorded for it."""
    if not Path(path).is_file():
        raise CheckpointError(f"{path}: missing")
    if expected and sha256_of(path) != expected:
        raise CheckpointError(f"{path}: damaged (its checksum does not match the one recorded when it was "
                              "written); use an earlier epoch or train again")


#: Called just before ``state.json`` is replaced; tests set it to interrupt a commit deterministically.
before_commit = None


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT and SIGTERM back inside the block; act on them (KeyboardInterrupt) when it ends.

    Outside the main thread signals cannot be handled, and the block simply runs.

    Examples
    --------
    >>> with deferred_signals():
    ...     print("committing")
    committing
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {signum: signal.signal(signum, lambda number, frame: received.append(number))
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise KeyboardInterrupt(f"signal {received[0]}")


# ----------------------------------------------------------------------------- optimiser state

#: The arrays each optimiser keeps per parameter, in the order MXNet's state holds them.
OPTIMIZER_SLOTS = {"adam": ("mean", "variance"), "sgd": ("momentum",)}


def _updaters(trainer):
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._update_on_kvstore:
        raise CheckpointError("optimiser updates on the kvstore are not supported; create the Trainer with "
                              "update_on_kvstore=False")
    return trainer._updaters


def save_optimizer(trainer, path):
    """Write the optimiser's arrays to ``path`` (NDArray format) and return its counters for state.json.

    Returns
    -------
    dict
        ``optimizer`` (name), ``num_update`` and ``counts`` (updates per device and parameter index):
        what :func:`load_optimizer` needs besides the arrays.
    """
    import mxnet as mx

    name = type(trainer._optimizer).__name__.lower()
    if name not in OPTIMIZER_SLOTS:
        raise CheckpointError(f"cannot save the state of optimiser {name!r}: only {sorted(OPTIMIZER_SLOTS)}")
    arrays = {}
    for index, state in _updaters(trainer)[0].states.items():
        values = state if isinstance(state, (tuple, list)) else (state,)
        for slot, value in zip(OPTIMIZER_SLOTS[name], values):
            if value is not None:
                arrays[f"{index}:{slot}"] = value.as_in_context(mx.cpu())
    mx.nd.save(str(path), arrays)
    optimizer = trainer._optimizer
    counts = {str(device): {str(index): int(count) for index, count in per_device.items()}
              for device, per_device in optimizer._all_index_update_counts.items()}
    return {"optimizer": name, "num_update": int(optimizer.num_update), "counts": counts}


def load_optimizer(trainer, path, meta):
    """Restore what :func:`save_optimizer` wrote, after checking every key and shape.

    Raises
    ------
    CheckpointError
        ``path`` is not an NDArray file, names parameters or slots this model does not have, or holds
        arrays of the wrong shape; the message names the file.
    """
    import mxnet as mx

    name = type(trainer._optimizer).__name__.lower()
    saved_for = meta.get("optimizer") if isinstance(meta, dict) else None
    if saved_for != name:
        raise CheckpointError(f"{path}: saved for optimiser {saved_for!r}, but this run uses {name!r}")
    try:
        arrays = mx.nd.load(str(path))
    except mx.base.MXNetError as error:
        raise CheckpointError(f"{path}: not an optimiser-state file of this workshop (NDArray format)") from error
    if not isinstance(arrays, dict):
        raise CheckpointError(f"{path}: not an optimiser-state file of this workshop (no named arrays)")
    params = list(trainer._params)
    slots = OPTIMIZER_SLOTS[name]
    states = {}
    for key, value in arrays.items():
        index, _, slot = key.partition(":")
        if not index.isdigit() or int(index) >= len(params) or slot not in slots:
            raise CheckpointError(f"{path}: unexpected entry {key!r}")
        if value.shape != params[int(index)].shape:
            raise CheckpointError(f"{path}: entry {key!r} has shape {value.shape}, the parameter has "
                                  f"{params[int(index)].shape}")
        states.setdefault(int(index), {})[slot] = value
    if any(set(values) != set(slots) for values in states.values()):
        raise CheckpointError(f"{path}: a parameter lacks one of the arrays {slots}")
    try:
        counts = {int(device): {int(index): int(count) for index, count in per_device.items()}
                  for device, per_device in meta["counts"].items()}
        num_update = int(meta["num_update"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"state.json: the optimiser counters for {path} are damaged ({error})") from error
    for updater in _updaters(trainer):
        for index, values in states.items():
            # Copied to each weight's device by MXNet at the next update (states_synced False).
            updater.states[index] = values[slots[0]] if len(slots) == 1 else tuple(values[s] for s in slots)
            updater.states_synced[index] = False
    optimizer = trainer._optimizer
    optimizer.num_update = num_update
    optimizer._all_index_update_counts = counts or {0: {}}
    optimizer._index_update_count = optimizer._all_index_update_counts.setdefault(0, {})


# ----------------------------------------------------------------------------- configuration

#: Files a training run writes; ``--overwrite`` removes exactly these before a new run.
RUN_FILES = ("config.json", "state.json", "vocab.json", "best.params", "epoch-*.params", "epoch-*.states")


def is_word_model(net):
    """Whether ``net`` is a word model (it carries its vocabulary), as opposed to Crepe."""
    return hasattr(net, "vocab")


def model_config(net, classes):
    """What ``config.json`` records about ``net``: enough to rebuild it without running any code.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> model_config(Crepe(2), ["no", "yes"])["architecture"]
    {'head': 'flatten', 'norm': None, 'init': 'gaussian', 'dropout': 0.5}
    """
    from .quantise import ALPHABET, FRAME_LENGTH

    if is_word_model(net):
        return {"format": FORMAT_VERSION, "model": "word", "classes": list(classes), "embed_size": net.embed_size,
                "vocabulary": "vocab.json"}
    return {"format": FORMAT_VERSION, "model": "crepe", "size": net.size, "architecture": net.architecture,
            "classes": list(classes), "frame_length": FRAME_LENGTH, "alphabet": ALPHABET}


def save_config(directory, net, classes, run=None):
    """Write ``config.json`` (the model, and the run's settings ``run``) and, for a word model, ``vocab.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if is_word_model(net):
        atomic_write(directory / "vocab.json",
                     lambda temporary: Path(temporary).write_text(net.vocab.to_json(), encoding="utf-8"))
    write_json(directory / "config.json", {**model_config(net, classes), "run": run or {}})


def read_config(directory):
    """``config.json`` of a model directory, checked against what this version can rebuild."""
    from .model import ARCHITECTURES
    from .quantise import ALPHABET, FRAME_LENGTH

    config = read_json(Path(directory) / "config.json")
    if not isinstance(config, dict) or config.get("model") not in ("crepe", "word"):
        raise CheckpointError(f"{directory}/config.json does not describe a Crepe or word-CNN model")
    if not isinstance(config.get("format"), int) or config["format"] > FORMAT_VERSION:
        raise CheckpointError(f"{directory} was written by a newer version of this workshop (format "
                              f"{config.get('format')}, this one reads up to {FORMAT_VERSION}); update the repository")
    if not isinstance(config.get("classes"), list) or len(config["classes"]) < 2:
        raise CheckpointError(f"{directory}/config.json: 'classes' must list at least two class names")
    if config["model"] == "crepe":
        if config.get("alphabet") != ALPHABET or config.get("frame_length") != FRAME_LENGTH:
            raise CheckpointError(f"{directory} was trained with a different alphabet or frame length")
        if config.get("size") not in ("small", "large"):
            raise CheckpointError(f"{directory}/config.json: unknown size {config.get('size')!r}")
        _check_architecture(directory, config.setdefault("architecture", ARCHITECTURES["paper"]))
    return config


def _check_architecture(directory, architecture):
    """Refuse an ``architecture`` entry that :class:`crepe.model.Crepe` cannot build, naming the field."""
    problem = _architecture_problem(architecture)
    if problem:
        raise CheckpointError(f"{directory}/config.json: an architecture this version cannot build ({problem})")


def _architecture_problem(architecture):
    """The first thing wrong with an ``architecture`` entry, or None.

    Examples
    --------
    >>> _architecture_problem({"head": "max", "norm": None, "init": "he", "dropout": 0.2, "filters": 128}) is None
    True
    >>> _architecture_problem({"head": "avg", "norm": None, "init": "he", "dropout": 0.2})
    "head must be one of ('flatten', 'max'), got 'avg'"
    """
    from .model import CHOICES

    fields = (*CHOICES, "dropout", "filters")
    if not isinstance(architecture, dict):
        return "it is not a mapping"
    unknown = sorted(set(architecture) - set(fields))
    if unknown:
        return f"unknown field {unknown[0]!r}"
    for field, values in CHOICES.items():
        if architecture.get(field) not in values:
            return f"{field} must be one of {values}, got {architecture.get(field)!r}"
    dropout, filters = architecture.get("dropout"), architecture.get("filters")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        return f"dropout must be a number in [0, 1), got {dropout!r}"
    if filters is not None and (isinstance(filters, bool) or not isinstance(filters, int) or filters < 1):
        return f"filters must be a positive integer, got {filters!r}"
    return None


def build_model(config, directory=None):
    """An uninitialised network as ``config`` describes it (a word model reads its vocabulary file).

    Examples
    --------
    >>> from crepe.model import ARCHITECTURES
    >>> net = build_model({"model": "crepe", "size": "small", "classes": ["a", "b"],
    ...                    "architecture": ARCHITECTURES["workshop"]})
    >>> net.architecture["head"]
    'max'
    """
    from .model import ARCHITECTURES, Crepe

    classes = len(config["classes"])
    if config["model"] == "word":
        import gluonnlp as nlp

        from .words import WordCNN

        path = Path(directory) / "vocab.json"
        try:
            vocab = nlp.Vocab.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{path}: missing (a word model needs its vocabulary)") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CheckpointError(f"{path}: not a vocabulary file ({error})") from error
        net = WordCNN(len(vocab), classes, embed_size=int(config.get("embed_size", 100)))
        net.vocab = vocab
        return net
    return Crepe(classes, size=config["size"], **config.get("architecture", ARCHITECTURES["paper"]))


def load_parameters(net, path, ctx):
    """Load weights (an NDArray file) into ``net``, turning mismatches into one clear sentence."""
    import mxnet as mx

    try:
        net.load_parameters(str(path), ctx=ctx)
    except (AssertionError, mx.base.MXNetError, ValueError) as error:
        text = str(error).strip().splitlines()
        detail = next((line for line in text if "shape" in line.lower()), text[0] if text else "")
        kind = "word CNN" if is_word_model(net) else f"Crepe {net.size}"
        raise CheckpointError(f"{path} does not fit this model ({kind}, {net.num_classes} classes): "
                              f"{detail[:200]}") from error


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


def load_model(directory, ctx=None, which="best"):
    """Rebuild a trained network from a model directory (weights only: no optimiser state is read).

    Parameters
    ----------
    directory : str or Path
    ctx : mxnet.Context or list, optional
        Where to put the weights (default CPU).
    which : {"best", "last"}, optional
        The best-validation epoch's weights (default) or the last completed epoch's.

    Returns
    -------
    (Crepe or WordCNN, dict)
        The network (hybridised) and its configuration (with ``classes``).
    """
    import mxnet as mx

    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such model directory")
    config = read_config(directory)
    state = read_state(directory)
    name = state.get("best", "best.params") if which == "best" else state["params"]
    verify(directory / name, state["sha256"].get(name))
    net = build_model(config, directory)
    load_parameters(net, directory / name, ctx or mx.cpu())
    net.hybridize(static_alloc=True, static_shape=config["model"] == "crepe")
    return net, config


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
        if before_commit is not None:
            before_commit()
        write_json(directory / "state.json", {
            "format": FORMAT_VERSION, "epoch": epoch, "params": params, "states": states, "optimizer": meta,
            "best": best_name, "best_accuracy": best_accuracy, "sha256": digests, "history": history})
        keep = {params, states, best_name, f"epoch-{epoch - 1:04d}.params", f"epoch-{epoch - 1:04d}.states"}
        for old in list(directory.glob("epoch-*.params")) + list(directory.glob("epoch-*.states")):
            if old.name not in keep:
                old.unlink()
    return best_name, best_accuracy
