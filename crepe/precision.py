"""Automatic mixed precision (float16 with dynamic loss scaling), for GPU training only.

On the CPU MXNet 1.9.1 would use bfloat16, which this workshop does not support, so mixed precision
is refused there (:func:`require_gpus`).
"""
__all__ = ["enable_mixed_precision", "require_gpus", "prepare_trainer"]


def _amp():
    from mxnet.contrib import amp

    return amp


def enable_mixed_precision():
    """Switch MXNet to mixed precision. Call it once, *before* building the network.

    ``mxnet.contrib.amp.init`` rewrites operators as they are created; then train with
    ``TrainSettings(amp=True)``.
    """
    amp = _amp()
    if not getattr(amp.amp, "_amp_initialized", False):
        amp.init()


def require_gpus(contexts):
    """Refuse mixed precision on anything but GPUs, in one sentence.

    Examples
    --------
    >>> import mxnet as mx
    >>> require_gpus([mx.cpu()])
    Traceback (most recent call last):
    ...
    ValueError: mixed precision needs a GPU, and this run would use the CPU; train in float32 instead
    """
    if any(context.device_type != "gpu" for context in contexts):
        raise ValueError("mixed precision needs a GPU, and this run would use the CPU; train in float32 instead")


def prepare_trainer(trainer, contexts):
    """Give ``trainer`` dynamic loss scaling, after checking the contexts and that AMP was enabled."""
    require_gpus(contexts)
    amp = _amp()
    if not getattr(amp.amp, "_amp_initialized", False):
        raise ValueError("call crepe.precision.enable_mixed_precision() before building the network")
    amp.init_trainer(trainer)


def scaled_backward(losses, trainer):
    """The backward pass of ``losses`` with the loss scaled, as mixed precision needs."""
    from mxnet import autograd

    with _amp().scale_loss(losses, trainer) as scaled:
        autograd.backward(scaled)
