"""The ways to run the workshop besides `make` on a laptop: Docker images, a devcontainer, Binder.

No container engine can pull base images on the machines that run these tests, so the images are
not built here. What can be checked is checked: the files' required keys, that their commands are
the README's, and (the slow test at the end) that the CPU image's own set-up step works in a fresh
virtual environment, as the image would run it.
"""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def dockerfile_instructions(path):
    """(instruction, argument) pairs of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, argument = line.strip().partition(" ")
            pairs.append((instruction.upper(), argument.strip()))
    return pairs


def test_dockerfile_cpu_uses_python_311_and_the_projects_setup():
    steps = dockerfile_instructions(ROOT / "Dockerfile")
    assert steps[0] == ("FROM", "python:3.11-slim-bookworm")
    assert ("RUN", "make setup GPU=0 && rm -rf /home/workshop/.cache/pip") in steps


def test_dockerfile_cpu_runs_as_a_non_root_user_and_starts_jupyterlab_on_the_notebooks():
    steps = dict(dockerfile_instructions(ROOT / "Dockerfile"))
    assert steps["USER"] == "workshop"
    command = json.loads(steps["CMD"])
    assert command[:2] == [".venv/bin/jupyter", "lab"] and "--ServerApp.root_dir=notebooks" in command


def test_dockerfile_gpu_uses_cuda_112_with_cudnn_8_and_the_gpu_stack():
    steps = dockerfile_instructions(ROOT / "docker" / "gpu.Dockerfile")
    assert steps[0] == ("FROM", "nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04")
    assert any(step == ("RUN", "make setup GPU=1 && rm -rf /home/workshop/.cache/pip") for step in steps)


def test_dockerfile_commands_are_in_the_readme():
    for command in ("docker build -t cnn-nlp-workshop .", "docker run --rm -p 8888:8888 cnn-nlp-workshop",
                    "docker build -f docker/gpu.Dockerfile -t cnn-nlp-workshop-gpu ."):
        assert command in README


def test_devcontainer_json_has_the_schemas_required_keys():
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))
    # The devcontainer schema requires one way to get a container: an image, a build, or compose.
    assert sum(key in config for key in ("image", "build", "dockerFile", "dockerComposeFile")) == 1
    assert isinstance(config["image"], str) and "3.11" in config["image"]
    assert config["runArgs"] == ["--platform=linux/amd64"]          # MXNet has no arm64 wheel


def test_devcontainer_commands_are_the_readmes():
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))
    assert config["postCreateCommand"] == "make setup GPU=0" and "`make setup GPU=0`" in README
    assert "make lab" in config["postAttachCommand"] and "make test" in config["postAttachCommand"]


def test_binder_pins_python_311_and_runs_the_projects_setup():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert 'make setup GPU=0 VENV="${NB_PYTHON_PREFIX}"' in post_build
    assert os.access(ROOT / "binder" / "postBuild", os.X_OK)


def test_build_requirements_agree_with_the_other_pins():
    pin = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)")
    read = lambda name: {m.group(1).lower(): m.group(2) for m in map(pin.match, (ROOT / "requirements" / name)
                                                                      .read_text().splitlines()) if m}
    build, others = read("build.txt"), {**read("constraints.txt"), **read("base.txt")}
    shared = set(build) & set(others)
    assert {"numpy", "cython", "packaging"} <= shared
    assert {name: build[name] for name in shared} == {name: others[name] for name in shared}


def test_dockerfile_setup_step_works_in_a_fresh_virtual_environment(tmp_path):
    """The CPU image's `RUN make setup GPU=0`, run as the image would, into a new virtual environment."""
    steps = dockerfile_instructions(ROOT / "Dockerfile")
    setup = next(argument for instruction, argument in steps if instruction == "RUN" and "make setup" in argument)
    command = shlex.split(setup.split("&&")[0])                       # make setup GPU=0
    venv = tmp_path / "venv"
    result = subprocess.run([*command, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True, timeout=1500,
                            env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    python = venv / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import mxnet, gluonnlp, numpy, crepe; print(mxnet.__version__, "
                            "gluonnlp.__version__, numpy.__version__)"], capture_output=True, text=True, timeout=300)
    assert check.stdout.split() == ["1.9.1", "0.10.0", "1.23.5"], check.stderr
    kernel = venv / "share" / "jupyter" / "kernels" / "cnn-nlp-workshop" / "kernel.json"
    assert json.loads(kernel.read_text())["argv"][0] == str(python)
