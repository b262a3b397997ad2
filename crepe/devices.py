"""Choosing where to compute: every usable GPU, else the CPU.

MXNet 1.9.1's CPU wheel cannot touch a GPU at all, and its GPU wheels (``mxnet-cu112``) carry
kernels for compute capabilities sm_50, 60, 70, 80 and 86 only. A card it has no kernels for (an
H100 or H200, sm_90) is listed by the driver but fails at the first operator with "no kernel image
is available". So a GPU counts as usable only after a tiny real convolution on it has matched the
CPU's result.
"""
import contextlib
import os
import sys

import numpy as np

__all__ = ["SUPPORTED_COMPUTE_CAPABILITIES", "quiet_stderr", "probe_gpu", "get_ctx"]

#: Compute capabilities with kernels in MXNet 1.9.1's GPU wheels.
SUPPORTED_COMPUTE_CAPABILITIES = ("5.0", "6.0", "7.0", "8.0", "8.6")


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (where MXNet's C++ logs go) for the duration of the block.

    Python-level ``sys.stderr`` is silenced too. Nothing is lost that a user needs: callers turn
    failures into one readable line of their own.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:              # no real descriptor 2 (some embedded interpreters)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            with contextlib.redirect_stderr(devnull):
                yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _probe_convolution(ctx):
    """Run a 1-D convolution on ``ctx`` and return its result as numpy."""
    import mxnet as mx

    data = mx.nd.array(np.arange(12, dtype=np.float32).reshape(1, 2, 6), ctx=ctx)   # (1, 2, 6)
    weight = mx.nd.array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 2, 3), ctx=ctx)
    out = mx.nd.Convolution(data=data, weight=weight, no_bias=True, kernel=(3,), num_filter=2)
    return out.asnumpy()


def probe_gpu(index):
    """Check that GPU ``index`` really computes with this MXNet build.

    Parameters
    ----------
    index : int
        The GPU's number, as in ``mx.gpu(index)``.

    Returns
    -------
    str or None
        None if a convolution on the GPU matches the CPU; otherwise one line saying why not.

    Examples
    --------
    >>> probe_gpu(0) is None or isinstance(probe_gpu(0), str)
    True
    """
    import mxnet as mx

    try:
        with quiet_stderr():
            got = _probe_convolution(mx.gpu(index))
    except Exception as error:  # MXNetError, or RuntimeError from a CPU-only build
        reason = str(error).strip().splitlines()
        detail = next((line for line in reversed(reason) if line.strip()), type(error).__name__)
        if "no kernel image" in str(error):
            detail = ("this MXNet build has no kernels for the card's architecture (MXNet 1.9.1 "
                      "supports sm_50, 60, 70, 80, 86; Hopper is sm_90)")
        return f"gpu({index}) failed a test convolution: {detail}"
    expected = _probe_convolution(mx.cpu())
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-4):
        return f"gpu({index}) gave a different result from the CPU on a test convolution"
    return None


def get_ctx(verbose=True):
    """Every usable GPU, else the CPU, as a list of MXNet contexts.

    Parameters
    ----------
    verbose : bool, optional
        Print one line saying what was chosen and, on a fallback, why (default True).

    Returns
    -------
    list of mxnet.Context
        ``[mx.gpu(0), mx.gpu(1), ...]`` for the GPUs that passed :func:`probe_gpu`, or
        ``[mx.cpu()]`` if none did.

    Examples
    --------
    >>> ctx = get_ctx(verbose=False)
    >>> ctx[0].device_type in ("cpu", "gpu")
    True
    """
    import mxnet as mx

    if not mx.runtime.Features().is_enabled("CUDA"):
        if verbose:
            print("Using the CPU: this MXNet build has no CUDA support (install mxnet-cu112 on a GPU machine).")
        return [mx.cpu()]
    with quiet_stderr():
        try:
            count = mx.context.num_gpus()
        except Exception:            # driver missing or broken
            count = 0
    if count == 0:
        if verbose:
            print("Using the CPU: this MXNet build supports CUDA but no GPU is visible.")
        return [mx.cpu()]
    usable, problems = [], []
    for index in range(count):
        problem = probe_gpu(index)
        if problem:
            problems.append(problem)
        else:
            usable.append(mx.gpu(index))
    if verbose:
        for problem in problems:
            print(problem)
        if usable:
            print(f"Using {len(usable)} GPU(s): {', '.join(str(c) for c in usable)}")
        else:
            print("Using the CPU: no GPU passed the test convolution.")
    return usable or [mx.cpu()]
