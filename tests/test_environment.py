"""The set-up files agree with each other, and the Python finder says what to do."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crepe.doctor import read_pins

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)")


def pip_pins(name):
    """Pins of requirements/<name> (following -r includes), as `doctor` reads them."""
    return read_pins(name.removesuffix(".txt"))


def conda_pins(name):
    """(python version, pip pins) of a conda environment file, read as text."""
    text = (ROOT / name).read_text()
    python = re.search(r"^\s*-\s*python=(\S+)", text, re.M).group(1)
    pip_section = text.split("- pip:", 1)[1]
    pins = {m.group(1).lower(): m.group(2) for m in map(PIN.match, pip_section.splitlines()) if m}
    return python, pins


@pytest.mark.parametrize("conda_file,stack", [("environment.yml", "gpu.txt"), ("environment-cpu.yml", "cpu.txt")])
def test_conda_files_pin_what_the_requirement_files_pin(conda_file, stack):
    python, pins = conda_pins(conda_file)
    assert python == "3.11"
    assert pins == pip_pins(stack)


def test_cpu_and_gpu_stacks_differ_only_in_mxnet():
    cpu, gpu = pip_pins("cpu.txt"), pip_pins("gpu.txt")
    assert cpu.pop("mxnet") == gpu.pop("mxnet-cu112") == "1.9.1"
    assert cpu == gpu


def test_the_stack_pins_numpy_1_23_5():
    assert pip_pins("cpu.txt")["numpy"] == "1.23.5"


def test_constraints_do_not_repeat_top_level_pins():
    constraints = {m.group(1).lower() for m in map(PIN.match, (ROOT / "requirements/constraints.txt")
                                                    .read_text().splitlines()) if m}
    assert not constraints & set(pip_pins("gpu.txt")) | constraints & set(pip_pins("cpu.txt"))


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    for package, pinned in pip_pins("cpu.txt").items():
        if package == "mxnet" and not _installed("mxnet"):
            continue
        assert version(package) == pinned, package


def _installed(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(name)
        return True
    except PackageNotFoundError:
        return False


def _fake_python(folder, name, version):
    script = folder / name
    script.write_text(f"#!/bin/sh\necho {version}\n")
    script.chmod(0o755)


def _find_python(folder):
    env = {"PATH": str(folder), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["/bin/sh", str(ROOT / "scripts/find-python.sh")], env=env, capture_output=True, text=True)


def test_find_python_prefers_python311(tmp_path):
    _fake_python(tmp_path, "python3.11", "3.11")
    _fake_python(tmp_path, "python3", "3.12")
    result = _find_python(tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == str(tmp_path / "python3.11")


def test_find_python_accepts_python3_when_it_is_311(tmp_path):
    _fake_python(tmp_path, "python3", "3.11")
    assert _find_python(tmp_path).stdout.strip() == str(tmp_path / "python3")


def test_find_python_refuses_310_whose_wheels_the_pins_lack(tmp_path):
    _fake_python(tmp_path, "python3", "3.10")
    assert _find_python(tmp_path).returncode == 1


def test_find_python_refuses_312_with_one_clear_sentence(tmp_path):
    _fake_python(tmp_path, "python3", "3.12")
    result = _find_python(tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert "needs Python 3.11" in result.stderr and "environment-cpu.yml" in result.stderr
    assert result.stderr.count("\n") == 1


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text()
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), re.M)


def test_running_python_is_supported():
    assert sys.version_info[:2] == (3, 11)
