"""What lets MXNet run on arm64: the stand-in for Arm Performance Libraries, and the check every image runs.

The aarch64 image itself is built and checked under emulation by .ci/images.sh; these tests hold on any
machine with a C compiler.
"""
import ctypes
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import require

ROOT = Path(__file__).resolve().parents[1]


def _check_mxnet():
    spec = importlib.util.spec_from_file_location("check_mxnet", ROOT / "scripts" / "check_mxnet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_mxnet_passes_on_this_mxnet():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_mxnet.py")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith(": ok")


def test_check_mxnet_differences_see_a_wrong_convolution(monkeypatch):
    module = _check_mxnet()
    real = np.correlate
    monkeypatch.setattr(np, "correlate", lambda a, v, mode: real(a, v[::-1], mode))   # a convolution, not a correlation
    assert max(module.differences()) > module.TOLERANCE


def _libraries_needed(path):
    done = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, timeout=30)
    return [line.split("[")[1].rstrip("]") for line in done.stdout.splitlines() if "(NEEDED)" in line]


def test_armpl_standin_links_openblas_and_lapacke(tmp_path):
    require(shutil.which("cc") and shutil.which("readelf"), "no C compiler or readelf (apt install build-essential)")
    done = subprocess.run(["sh", str(ROOT / "scripts" / "armpl-standin.sh"), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0 and "OpenBLAS and LAPACKE" in done.stderr:
        require(False, "no OpenBLAS or LAPACKE (apt install libopenblas0-openmp liblapacke)")
    assert done.returncode == 0, done.stderr
    assert {"libopenblas.so.0", "liblapacke.so.3"} <= set(_libraries_needed(tmp_path / "libarmpl_lp64_mp.so"))
    for name in ("libarmpl_lp64_mp.so", "libamath.so", "libastring.so"):
        ctypes.CDLL(str(tmp_path / name))                                         # each loads


def test_armpl_standin_says_what_to_install_without_a_compiler(tmp_path):
    done = subprocess.run(["sh", str(ROOT / "scripts" / "armpl-standin.sh"), str(tmp_path)], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "CC": "no-such-cc"})
    assert done.returncode == 1 and done.stderr.strip().count("\n") == 0 and "apt install gcc" in done.stderr
