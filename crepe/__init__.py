"""crepe: the reusable plumbing of the CNNs-for-NLP workshop (MXNet/Gluon).

The ideas are taught in ``notebooks/``; this package holds what the notebooks reuse and the tests
pin: character quantisation (:mod:`crepe.quantise`), convolution arithmetic
(:mod:`crepe.arithmetic`), named image filters (:mod:`crepe.filters`) and device selection
(:mod:`crepe.devices`).
"""
from .quantise import ALPHABET, FRAME_LENGTH, NUM_CHARS, decode, encode, one_hot
from .arithmetic import (conv_output_length, conv_params, crepe_shape_walk, dense_params,
                         pool_output_length, receptive_field)
from .devices import get_ctx
from . import filters

__version__ = "0.1.0"
