"""crepe: the reusable plumbing of the CNNs-for-NLP workshop (MXNet/Gluon).

The ideas are taught in ``notebooks/``; this package holds what the notebooks reuse and the tests
pin: character quantisation (:mod:`crepe.quantise`), convolution arithmetic
(:mod:`crepe.arithmetic`), named image filters (:mod:`crepe.filters`) and device selection
(:mod:`crepe.devices`), and the Crepe model with its training, data and command line
(:mod:`crepe.model`, :mod:`crepe.train`, :mod:`crepe.data`, ``python -m crepe``).

Importing ``crepe`` before ``mxnet`` sets ``OMP_NUM_THREADS`` to the usable cores unless it is
already set: MXNet 1.9.1 otherwise leaves cores idle (measured here: Crepe-small trained at 34
samples/s on 2 cores by default and 67 with the variable set).
"""
import os as _os

if "OMP_NUM_THREADS" not in _os.environ:
    _cores = len(_os.sched_getaffinity(0)) if hasattr(_os, "sched_getaffinity") else _os.cpu_count()
    _os.environ["OMP_NUM_THREADS"] = str(_cores or 1)
from .quantise import ALPHABET, FRAME_LENGTH, NUM_CHARS, decode, encode, one_hot
from .arithmetic import (conv_output_length, conv_params, crepe_shape_walk, dense_params,
                         pool_output_length, receptive_field)
from .devices import get_ctx
from . import filters
from .data import TextDataset, load_dataset
from .model import Crepe, summary
from .train import evaluate, export, fit, load_model, predict
from .explain import explain

__all__ = ["ALPHABET", "FRAME_LENGTH", "NUM_CHARS", "encode", "one_hot", "decode", "conv_output_length",
           "pool_output_length", "conv_params", "dense_params", "receptive_field", "crepe_shape_walk", "get_ctx",
           "filters", "TextDataset", "load_dataset", "Crepe", "summary", "fit", "evaluate", "predict", "load_model",
           "export", "explain"]
__version__ = "0.1.0"
