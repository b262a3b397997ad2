"""crepe: the reusable plumbing of the CNNs-for-NLP workshop (MXNet/Gluon).

The ideas are taught in ``notebooks/``; this package holds what the notebooks reuse and the tests
pin: character quantisation (:mod:`crepe.quantise`), convolution arithmetic
(:mod:`crepe.arithmetic`), named image filters (:mod:`crepe.filters`) and device selection
(:mod:`crepe.devices`), and the models with their data, training, model directories, inference and
command line (docs/architecture.md has the map; ``python -m crepe``).

Names are loaded lazily (PEP 562): ``import crepe`` and ``python -m crepe --help`` do not load
MXNet; ``crepe.Crepe`` does, when first used.

Threads: MXNet 1.9.1 sizes its OpenMP pool from ``OMP_NUM_THREADS`` once, when it loads, and
otherwise uses half the cores (measured here, Crepe-small training on 2 cores: 77 samples/s by
default, 149 with the variable set). ``import crepe`` sets the variable to the usable cores when it
is unset and MXNet is not loaded yet. Once MXNet is loaded nothing in the process can change it:
MXNet's runtime setter (``MXSetNumOMPThreads``) was measured to make no difference, so crepe then
warns once and says what to do. The Jupyter kernel that ``make`` registers sets the variable in its
environment, so in the notebooks the import order does not matter; ``python -m crepe`` imports
crepe first.
"""
import importlib as _importlib
import os as _os
import sys as _sys

#: Public name -> the module that defines it.
_LAZY = {
    "ALPHABET": "quantise", "FRAME_LENGTH": "quantise", "NUM_CHARS": "quantise", "encode": "quantise",
    "one_hot": "quantise", "decode": "quantise",
    "conv_output_length": "arithmetic", "pool_output_length": "arithmetic", "conv_params": "arithmetic",
    "dense_params": "arithmetic", "receptive_field": "arithmetic", "crepe_shape_walk": "arithmetic",
    "get_ctx": "devices", "TextDataset": "data", "load_dataset": "data", "Crepe": "model", "summary": "model",
    "fit": "train", "TrainSettings": "settings", "make_dataset": "families", "evaluate": "inference",
    "predict": "inference", "load_model": "inference", "export": "inference", "explain": "explain",
}
_SUBMODULES = ("filters", "quantise", "arithmetic", "devices", "readers", "data", "download", "files", "signals",
               "architectures", "model", "words", "families", "settings", "recipes", "precision", "optimizer_state",
               "checkpoint", "callbacks", "train", "inference", "plots", "explain", "augment", "doctor", "cli",
               "errors", "processes", "release", "diagrams", "distributed", "serving")

__all__ = sorted(_LAZY) + ["filters", "use_all_cores"]
__version__ = "0.1.0"


def _usable_cores():
    return len(_os.sched_getaffinity(0)) if hasattr(_os, "sched_getaffinity") else (_os.cpu_count() or 1)


def use_all_cores():
    """Give MXNet every usable core if it is not loaded yet; warn if it was loaded without the setting.

    Nothing happens when ``OMP_NUM_THREADS`` is already set (by the user, the workshop's kernel, or
    a parent process) or when ``CREPE_KEEP_THREADS=1`` (to measure MXNet's own default).

    Returns
    -------
    int or None
        The thread count set, or None when nothing was set.
    """
    if "OMP_NUM_THREADS" in _os.environ or _os.environ.get("CREPE_KEEP_THREADS") == "1":
        return None
    cores = _usable_cores()
    if "mxnet" in _sys.modules:
        if cores > 1:
            import warnings

            warnings.warn(f"mxnet was imported before crepe without OMP_NUM_THREADS, so MXNet uses about half of "
                          f"the {cores} cores; start Python with OMP_NUM_THREADS={cores} (the workshop's Jupyter "
                          "kernel does), or import crepe first", RuntimeWarning, stacklevel=3)
        return None
    _os.environ["OMP_NUM_THREADS"] = str(cores)
    return cores


def __getattr__(name):
    if name in _LAZY:
        value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'crepe' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


use_all_cores()
