"""scripts/select-stack.sh: the GPU stack only for a GPU MXNet 1.9.1 runs on, with CUDA 11 present.

Each test puts a fake ``nvidia-smi`` (and a fake ``ldconfig``) first on PATH.
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CUDA11 = "\tlibcudart.so.11.0 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.11.0\n" \
         "\tlibcublas.so.11 (libc6,x86-64) => /usr/local/cuda/lib64/libcublas.so.11\n"


def fake_bin(tmp_path, listing=None, libraries="", driver_fails=False):
    """A folder with nvidia-smi printing ``listing`` (None: no nvidia-smi) and ldconfig printing ``libraries``."""
    folder = tmp_path / "bin"
    folder.mkdir()
    scripts = {"ldconfig": f"#!/bin/sh\nprintf '%s' '{libraries}'\n"}
    if listing is not None:
        scripts["nvidia-smi"] = ("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n" if driver_fails
                                 else f"#!/bin/sh\nprintf '%s' '{listing}'\n")
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def select(folder, *command):
    env = {**os.environ, "PATH": f"{folder}:/usr/bin:/bin", "LD_LIBRARY_PATH": ""}
    return subprocess.run(list(command) or ["sh", "scripts/select-stack.sh"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_select_stack_hopper_gives_cpu_and_says_why(tmp_path):
    result = select(fake_bin(tmp_path, "NVIDIA H200, 9.0\n", CUDA11))
    assert result.stdout == "cpu\n" and "NVIDIA H200 (9.0: MXNet 1.9.1 has no kernels for it)" in result.stderr


def test_select_stack_a100_with_cuda11_gives_gpu(tmp_path):
    result = select(fake_bin(tmp_path, "NVIDIA A100-SXM4-40GB, 8.0\n", CUDA11))
    assert result.stdout == "gpu\n" and "A100" in result.stderr


def test_select_stack_a100_without_cuda11_gives_cpu(tmp_path):
    result = select(fake_bin(tmp_path, "NVIDIA A100-SXM4-40GB, 8.0\n", ""))
    assert result.stdout == "cpu\n" and "libcudart.so.11.0 is not installed" in result.stderr


@pytest.mark.parametrize("capability", ["7.5", "8.6", "8.9"])
def test_select_stack_same_major_newer_minor_gives_gpu(tmp_path, capability):
    assert select(fake_bin(tmp_path, f"Some GPU, {capability}\n", CUDA11)).stdout == "gpu\n"


def test_select_stack_mixed_cards_uses_the_usable_one(tmp_path):
    result = select(fake_bin(tmp_path, "NVIDIA H100, 9.0\nTesla T4, 7.5\n", CUDA11))
    assert result.stdout == "gpu\n" and "Tesla T4 (7.5)" in result.stderr


def test_select_stack_no_gpu_listed_gives_cpu(tmp_path):
    result = select(fake_bin(tmp_path, ""))
    assert result.stdout == "cpu\n" and "lists no GPU" in result.stderr


def test_select_stack_driver_failing_gives_cpu(tmp_path):
    result = select(fake_bin(tmp_path, "", driver_fails=True))
    assert result.stdout == "cpu\n" and "lists no GPU" in result.stderr


def test_select_stack_no_driver_gives_cpu(tmp_path):
    result = select(fake_bin(tmp_path, None))
    assert result.stdout == "cpu\n" and "no nvidia-smi" in result.stderr


def test_make_plans_the_cpu_stack_on_an_h200_host(tmp_path):
    folder = fake_bin(tmp_path, "NVIDIA H200, 9.0\n", CUDA11)
    result = select(folder, "make", "-n", "setup", f"VENV={tmp_path / 'venv'}")
    assert "requirements/cpu.txt" in result.stdout and "requirements/gpu.txt" not in result.stdout


def test_find_python_apple_silicon_says_what_works_instead(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    uname = folder / "uname"
    uname.write_text('#!/bin/sh\ncase "$1" in -s) echo Darwin ;; -m) echo arm64 ;; *) echo Darwin ;; esac\n')
    uname.chmod(0o755)
    result = subprocess.run(["sh", str(ROOT / "scripts" / "find-python.sh")], capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{folder}:/usr/bin:/bin", "PYTHON": ""}, timeout=30)
    assert result.returncode == 1 and result.stdout == ""
    assert "no wheel for Apple silicon" in result.stderr and "Codespaces" in result.stderr
