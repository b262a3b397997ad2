"""Device selection: CPU fallback without noise, GPU probing."""
import mxnet as mx
import pytest

from crepe.devices import SUPPORTED_COMPUTE_CAPABILITIES, get_ctx, probe_gpu, quiet_stderr


def test_get_ctx_returns_a_list_of_contexts():
    ctx = get_ctx(verbose=False)
    assert ctx and all(isinstance(c, mx.Context) for c in ctx)


def test_get_ctx_on_a_cpu_build_prints_one_line_and_no_cpp_noise(capfd):
    if mx.runtime.Features().is_enabled("CUDA"):
        pytest.skip("this MXNet is a CUDA build; the test is about the CPU build")
    assert get_ctx() == [mx.cpu()]
    out, err = capfd.readouterr()
    assert out.count("\n") == 1 and "CPU" in out
    assert err == ""


def test_probe_gpu_on_a_cpu_build_explains_in_one_line(capfd):
    if mx.runtime.Features().is_enabled("CUDA"):
        pytest.skip("this MXNet is a CUDA build; the test is about the CPU build")
    reason = probe_gpu(0)
    assert reason.startswith("gpu(0) failed a test convolution") and "\n" not in reason
    assert capfd.readouterr().err == ""


def test_quiet_stderr_restores_the_descriptor(capfd):
    import os

    with quiet_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_supported_compute_capabilities_exclude_hopper():
    assert "9.0" not in SUPPORTED_COMPUTE_CAPABILITIES and "8.6" in SUPPORTED_COMPUTE_CAPABILITIES
