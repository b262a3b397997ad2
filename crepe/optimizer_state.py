"""The optimiser's state as NDArrays and JSON counters: nothing in it is ever pickled.

MXNet's own ``Trainer.save_states``/``load_states`` pickle the updater, so a model directory from
someone else could run code when loaded. This module writes each per-parameter array (Adam's mean
and variance, SGD's momentum) to an NDArray file under the key ``"<index>:<slot>"`` and returns the
counters (``num_update``, updates per parameter) for ``state.json``. It reaches into three private
fields of MXNet 1.9.1's Trainer and Optimizer (``_updaters``, ``_optimizer``,
``_all_index_update_counts``); the tests pin that a restored run continues exactly.
"""
from .errors import CheckpointError

__all__ = ["OPTIMIZER_SLOTS", "save_optimizer", "load_optimizer"]

#: The arrays each optimiser keeps per parameter, in the order MXNet's state holds them.
OPTIMIZER_SLOTS = {"adam": ("mean", "variance"), "sgd": ("momentum",)}


def _updaters(trainer):
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._update_on_kvstore:
        raise CheckpointError("optimiser updates on the kvstore are not supported; create the Trainer with "
                              "update_on_kvstore=False")
    return trainer._updaters


def _name(trainer):
    return type(trainer._optimizer).__name__.lower()


def save_optimizer(trainer, path):
    """Write the optimiser's arrays to ``path`` (NDArray format) and return its counters for state.json.

    Returns
    -------
    dict
        ``optimizer`` (name), ``num_update`` and ``counts`` (updates per device and parameter index):
        what :func:`load_optimizer` needs besides the arrays.
    """
    import mxnet as mx

    name = _name(trainer)
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


def _read_arrays(path, params, slots):
    """``{parameter index: {slot: NDArray}}`` from ``path``, every key and shape checked."""
    import mxnet as mx

    try:
        arrays = mx.nd.load(str(path))
    except mx.base.MXNetError:
        raise CheckpointError(f"{path}: not an optimiser-state file of this workshop (NDArray format)") from None
    if not isinstance(arrays, dict):
        raise CheckpointError(f"{path}: not an optimiser-state file of this workshop (no named arrays)")
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
    return states


def _read_counters(path, meta):
    try:
        counts = {int(device): {int(index): int(count) for index, count in per_device.items()}
                  for device, per_device in meta["counts"].items()}
        return counts, int(meta["num_update"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"state.json: the optimiser counters for {path} are damaged ({error})") from None


def load_optimizer(trainer, path, meta):
    """Restore what :func:`save_optimizer` wrote, after checking every key and shape.

    Raises
    ------
    CheckpointError
        ``path`` is not an NDArray file, names parameters or slots this model does not have, or holds
        arrays of the wrong shape; the message names the file.
    """
    name = _name(trainer)
    saved_for = meta.get("optimizer") if isinstance(meta, dict) else None
    if saved_for != name:
        raise CheckpointError(f"{path}: saved for optimiser {saved_for!r}, but this run uses {name!r}")
    slots = OPTIMIZER_SLOTS[name]
    states = _read_arrays(path, list(trainer._params), slots)
    counts, num_update = _read_counters(path, meta)
    for updater in _updaters(trainer):
        for index, values in states.items():
            # Copied to each weight's device by MXNet at the next update (states_synced False).
            updater.states[index] = values[slots[0]] if len(slots) == 1 else tuple(values[s] for s in slots)
            updater.states_synced[index] = False
    optimizer = trainer._optimizer
    optimizer.num_update = num_update
    optimizer._all_index_update_counts = counts or {0: {}}
    optimizer._index_update_count = optimizer._all_index_update_counts.setdefault(0, {})
