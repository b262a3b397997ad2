"""The ways to run the workshop besides `make` on a laptop: container images, a devcontainer, Binder.

The workshop image is built and run, not just read. `make images` builds it from `Dockerfile` on the
Debian bookworm image given as `BASE` (its own python3 is 3.11); CI builds it with `.ci/images.sh`
before `make test` (podman, a base made with debootstrap: no image registry is reachable there), and
the tests at the end of this file run that image: `python -m crepe doctor`, nbval on notebook 01, and
JupyterLab answering on a port mapped to 127.0.0.1 with the workshop kernel. They need a container
engine and the built image: without them they skip, saying why, except under CI=true, where they
fail. Every container they start has a timeout and is stopped and removed by its name.

The tests that read files (keys, commands, the Makefile's targets run with a stand-in engine) are
cheap checks beside those; none of them is what says that an image works. Binder is not launched
from here (no Binder service is reachable).

.ci/images.sh builds both images for linux/amd64 and linux/arm64 (one manifest list each); the
arm64 tests at the end run them under QEMU's user-mode emulation, and need that build.
"""
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
IMAGE, SERVING_IMAGE = "cnn-nlp-workshop", "cnn-nlp-serve"
ENGINE_STATE = ROOT / "build" / "images" / "engine.env"     # written by .ci/images.sh


def dockerfile_instructions(path):
    """(instruction, argument) pairs of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, argument = line.strip().partition(" ")
            pairs.append((instruction.upper(), " ".join(argument.split())))
    return pairs


def devcontainer():
    return json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))


def make_images(**variables):
    """`make images` with a stand-in engine (`echo`): the commands it would run, run for real otherwise."""
    args = [f"{name}={value}" for name, value in {"ENGINE": "echo", **variables}.items()]
    result = subprocess.run(["make", "--no-print-directory", "images", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_dockerfile_builds_from_the_base_build_argument():
    steps = dockerfile_instructions(ROOT / "Dockerfile")
    assert steps[:2] == [("ARG", "BASE=debian:bookworm-slim"), ("FROM", "${BASE}")]


def test_dockerfile_installs_python_311_and_a_compiler_from_debian():
    runs = [argument for instruction, argument in dockerfile_instructions(ROOT / "Dockerfile") if instruction == "RUN"]
    install = next(run for run in runs if "apt-get install" in run)
    assert {"python3", "python3-venv", "python3-dev", "build-essential", "make"} <= set(install.split())


def test_dockerfile_runs_the_projects_setup_with_the_cpu_stack():
    steps = dockerfile_instructions(ROOT / "Dockerfile")
    assert ("RUN", "make setup GPU=0 && rm -rf /home/workshop/.cache/pip") in steps


def test_dockerfile_runs_as_a_non_root_user_and_starts_jupyterlab_on_the_notebooks():
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
                    "docker build -f docker/gpu.Dockerfile -t cnn-nlp-workshop-gpu .",
                    "docker build -f docker/serve.Dockerfile -t cnn-nlp-serve .",
                    "docker run --rm -p 127.0.0.1:8080:8080 -p 127.0.0.1:8082:8082 cnn-nlp-serve"):
        assert command in README


def test_images_target_builds_the_workshop_image_on_base():
    assert "build --build-arg BASE=example/bookworm -t cnn-nlp-workshop ." in make_images(BASE="example/bookworm")


def test_images_target_builds_the_serving_image_on_base():
    out = make_images(BASE="example/bookworm")
    assert "build --build-arg BASE=example/bookworm -f docker/serve.Dockerfile -t cnn-nlp-serve ." in out


def _stand_in(tmp_path, name):
    """An engine called ``name`` that prints its arguments."""
    engine = tmp_path / name
    engine.write_text(f'#!/bin/sh\necho "{name} $*"\n')
    engine.chmod(0o755)
    return engine


def test_images_target_makes_a_manifest_list_of_each_image_for_platforms_under_podman(tmp_path):
    out = make_images(ENGINE=_stand_in(tmp_path, "podman"), BASE="b", PLATFORMS="linux/amd64,linux/arm64")
    for image in ("cnn-nlp-workshop", "cnn-nlp-serve"):
        built = [line for line in out.splitlines() if line.startswith("podman build") and f"--manifest {image} " in line]
        assert len(built) == 1 and "--platform linux/amd64,linux/arm64" in built[0]


def test_images_target_uses_buildx_for_platforms_under_docker(tmp_path):
    out = make_images(ENGINE=_stand_in(tmp_path, "docker"), BASE="b", PLATFORMS="linux/amd64,linux/arm64")
    built = [line for line in out.splitlines() if line.startswith("docker buildx build --platform linux/amd64,linux/arm64")]
    assert len(built) == 2 and all("--load" in line for line in built)


def test_dockerfile_installs_the_pins_in_a_layer_before_the_code():
    steps = dockerfile_instructions(ROOT / "Dockerfile")
    dependencies = next(i for i, step in enumerate(steps) if step[0] == "RUN" and "make dependencies GPU=0" in step[1])
    copies = [step[1] for step in steps[:dependencies] if step[0] == "COPY"]
    assert copies and all(" . ." not in copy and "crepe" not in copy for copy in copies)
    assert ("COPY", "--chown=workshop:workshop . .") in steps[dependencies:]


def test_images_target_builds_the_serving_image_in_dockers_format_under_podman(tmp_path):
    out = make_images(ENGINE=_stand_in(tmp_path, "podman"), BASE="example/bookworm")
    assert "podman build --format docker --build-arg BASE=example/bookworm -f docker/serve.Dockerfile" in out


def test_devcontainer_json_builds_the_workshop_dockerfile():
    config = devcontainer()
    # The devcontainer schema requires one way to get a container: an image, a build, or compose.
    assert sum(key in config for key in ("image", "build", "dockerFile", "dockerComposeFile")) == 1
    build = config["build"]
    folder = ROOT / ".devcontainer"
    assert (folder / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert (folder / build["context"]).resolve() == ROOT


def test_devcontainer_json_builds_for_the_machines_own_platform():
    config = devcontainer()                   # the Dockerfile builds for arm64 too: an Apple-silicon Mac runs it natively
    flags = [*config["build"].get("options", []), *config.get("runArgs", [])]
    assert not any(flag.startswith("--platform") for flag in flags)


def test_devcontainer_commands_are_the_readmes():
    config = devcontainer()
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


# ---- the built image, run ----------------------------------------------------------------------

def _unavailable(reason):
    """Skip on a machine without the engine or the image; fail under CI, which builds it first."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI builds the image with .ci/images.sh before make test)")
    pytest.skip(reason)


def _engine_with(image):
    """(command, environment) of the container engine holding ``image``; skip (or fail under CI) if none."""
    env = dict(os.environ)
    if ENGINE_STATE.is_file():
        settings = dict(line.split("=", 1) for line in ENGINE_STATE.read_text().splitlines() if "=" in line)
        name = settings.pop("ENGINE")
        settings.pop("PLATFORMS", None)
        env.update(settings)
    else:
        name = next((name for name in ("podman", "docker") if shutil.which(name)), None)
    if name is None or not shutil.which(name):
        _unavailable("no container engine (podman or docker) on this machine")
    try:
        found = subprocess.run([name, "image", "inspect", image], capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        found = None
    if found is None or found.returncode != 0:
        _unavailable(f"{name} has no image {image}: build it with `make images`"
                     + (f" ({found.stderr.strip()[:200]})" if found is not None else " (the engine did not answer)"))
    return [name], env


@pytest.fixture(scope="module")
def engine():
    """(command, environment) of the container engine holding the workshop image."""
    return _engine_with(IMAGE)


@pytest.fixture(scope="module")
def serving_engine():
    """(command, environment) of the container engine holding the serving image."""
    return _engine_with(SERVING_IMAGE)


def _remove(engine, name):
    command, env = engine
    for action in (["stop", "--time", "2", name], ["rm", "--force", name]):
        subprocess.run([*command, *action], capture_output=True, timeout=60, env=env)


def run_in_image(engine, purpose, args, timeout):
    """`<engine> run --rm` of the workshop image without a network; removed even on a timeout."""
    command, env = engine
    name = f"cnn-nlp-test-{os.getpid()}-{purpose}"
    try:
        return subprocess.run([*command, "run", "--rm", "--name", name, "--network", "none", IMAGE, *args],
                              capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        _remove(engine, name)


def test_workshop_image_doctor_reports_all_good(engine):
    result = run_in_image(engine, "doctor", [".venv/bin/python", "-m", "crepe", "doctor"], timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("all good"), result.stdout + result.stderr


def test_workshop_image_passes_nbval_on_notebook_01(engine):
    result = run_in_image(engine, "nbval", [".venv/bin/python", "-m", "pytest", "-q",
                                            "notebooks/01_convolution_arithmetic.ipynb"], timeout=900)
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]


def test_workshop_image_jupyterlab_lists_the_workshop_kernel(engine):
    """The image's own command (JupyterLab) answers on a port mapped to 127.0.0.1 only."""
    command, env = engine
    name, port, token = f"cnn-nlp-test-{os.getpid()}-lab", free_port(), os.urandom(16).hex()
    started = subprocess.run([*command, "run", "--rm", "--detach", "--name", name, "-e", f"JUPYTER_TOKEN={token}",
                              "-p", f"127.0.0.1:{port}:8888", IMAGE], capture_output=True, text=True, timeout=120,
                             env=env)
    try:
        assert started.returncode == 0, started.stderr
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/kernelspecs",
                                         headers={"Authorization": f"token {token}"})
        deadline, specs = time.monotonic() + 120, None
        while specs is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    specs = json.load(response)
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(1)
        logs = subprocess.run([*command, "logs", name], capture_output=True, text=True, timeout=60, env=env)
        assert specs is not None, "JupyterLab did not answer in 120 s:\n" + logs.stdout[-2000:] + logs.stderr[-2000:]
        assert "cnn-nlp-workshop" in specs["kernelspecs"], specs
    finally:
        _remove(engine, name)


def _wait_for(url, data=None, seconds=180):
    """The parsed JSON answer of ``url`` (POST when ``data``), retried until it answers or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                return None
            time.sleep(1)


#: The serving image's size limit in bytes (`<engine> image inspect --format {{.Size}}`).
SERVING_IMAGE_MAX_BYTES = 800_000_000
HEADLINE = "The striker scored twice as the home side won the derby"


def _start_serving(engine, purpose, platform=None):
    """(container name, predictions port, page port) of the serving image's own command, ports on 127.0.0.1."""
    command, env = engine
    name, api, page = f"cnn-nlp-test-{os.getpid()}-{purpose}", free_port(), free_port()
    chosen = ["--platform", platform] if platform else []
    started = subprocess.run([*command, "run", "--rm", "--detach", *chosen, "--name", name, "-p",
                              f"127.0.0.1:{api}:8080", "-p", f"127.0.0.1:{page}:8082", SERVING_IMAGE],
                             capture_output=True, text=True, timeout=120, env=env)
    if started.returncode != 0:
        _remove(engine, name)
        pytest.fail(f"the serving image did not start: {started.stderr[-2000:]}")
    return name, api, page


def _logs(engine, name):
    command, env = engine
    logs = subprocess.run([*command, "logs", name], capture_output=True, text=True, timeout=60, env=env)
    return logs.stdout + logs.stderr


def _in_container(engine, name, *args):
    command, env = engine
    return subprocess.run([*command, "exec", name, *args], capture_output=True, text=True, timeout=60, env=env)


def _healthy(engine, name):
    """Whether the image's HEALTHCHECK passes now (podman runs it on demand; docker reports its last run)."""
    command, env = engine
    if Path(command[0]).name == "podman":
        return subprocess.run([*command, "healthcheck", "run", name], capture_output=True, timeout=60,
                              env=env).returncode == 0
    status = subprocess.run([*command, "inspect", "--format", "{{.State.Health.Status}}", name],
                            capture_output=True, text=True, timeout=60, env=env)
    return status.stdout.strip() == "healthy"


@pytest.fixture(scope="module")
def serving_container(serving_engine):
    """(name, predictions port, page port) of one serving container that has answered a headline."""
    name, api, page = _start_serving(serving_engine, "serve")
    try:
        answer = _wait_for(f"http://127.0.0.1:{api}/predictions/crepe", json.dumps({"text": HEADLINE}).encode())
        assert answer is not None, "no answer in 180 s:\n" + _logs(serving_engine, name)[-4000:]
        yield name, api, page, answer
    finally:
        _remove(serving_engine, name)


def test_serving_image_answers_predictions_and_serves_the_demo_page(serving_container):
    """The serving image's own command: predictions and the page, on ports mapped to 127.0.0.1 only."""
    name, api, page, answer = serving_container
    assert set(answer) == {"predicted", "probabilities"}
    assert answer["predicted"] == "Sports", answer          # the shipped model has read real headlines
    config = _wait_for(f"http://127.0.0.1:{page}/config.json", seconds=30)
    assert config["predictions"] == "/predictions/crepe", config     # the page posts to its own origin
    forwarded = _wait_for(f"http://127.0.0.1:{page}/predictions/crepe", json.dumps({"text": HEADLINE}).encode(),
                          seconds=30)
    assert forwarded == answer                     # the page's port forwards to the model server
    ready = _wait_for(f"http://127.0.0.1:{page}/ready", seconds=30)
    assert ready == {"ready": True}, "the page server's /ready did not answer 200"


def test_serving_image_logs_show_the_frontends_and_the_workers_lines(serving_engine, serving_container):
    logs = _logs(serving_engine, serving_container[0])
    assert " com.amazonaws.ml.mms.ModelServer - " in logs and " crepe handler: crepe loaded" in logs, logs[-3000:]


def test_serving_image_runs_as_a_non_root_user(serving_engine, serving_container):
    uid = _in_container(serving_engine, serving_container[0], "id", "-u")
    assert uid.returncode == 0 and uid.stdout.strip() not in ("", "0"), uid.stdout + uid.stderr


def test_serving_image_pid_1_is_tini(serving_engine, serving_container):
    comm = _in_container(serving_engine, serving_container[0], "cat", "/proc/1/comm")
    assert comm.stdout.strip() == "tini", comm.stdout + comm.stderr


def test_serving_image_is_healthy_only_once_the_model_answers(serving_engine):
    """Its HEALTHCHECK fails while the model loads, and passes only when a headline gets its answer."""
    name, api, _ = _start_serving(serving_engine, "health")
    try:
        checks, deadline = [], time.monotonic() + 180
        while not (checks and checks[-1]) and time.monotonic() < deadline:
            checks.append(_healthy(serving_engine, name))
            time.sleep(0.5)
        assert checks and checks[-1], "not healthy in 180 s:\n" + _logs(serving_engine, name)[-3000:]
        answer = _wait_for(f"http://127.0.0.1:{api}/predictions/crepe", json.dumps({"text": HEADLINE}).encode(),
                           seconds=0)
        assert answer is not None and answer["predicted"] == "Sports", answer
        assert checks[0] is False                              # before: the model was still loading
    finally:
        _remove(serving_engine, name)


def test_serving_image_is_smaller_than_800_mb(serving_engine):
    command, env = serving_engine
    size = subprocess.run([*command, "image", "inspect", "--format", "{{.Size}}", SERVING_IMAGE],
                          capture_output=True, text=True, timeout=60, env=env)
    assert int(size.stdout.strip()) < SERVING_IMAGE_MAX_BYTES, size.stdout + size.stderr


# ---- the same images on linux/arm64, under emulation -------------------------------------------------
# .ci/images.sh builds both platforms (CI_PLATFORMS) and runs arm64 through qemu's user-mode emulation,
# 10x (Python) to 200x (MXNet's arithmetic) slower: small checks only.

ARM64 = "linux/arm64"
#: Two headlines predicted on arm64 and on this machine; the probabilities must agree this closely.
ARM64_HEADLINES, ARM64_TOLERANCE = (HEADLINE, "Stocks rally as the central bank holds rates"), 1e-4
#: podman 4.3's own line when it runs one platform of a manifest list (not the program's output).
ENGINE_PLATFORM_WARNING = "WARNING: image platform"


def _platforms_built():
    """The platforms .ci/images.sh built the images for (none known without its engine.env)."""
    if not ENGINE_STATE.is_file():
        return []
    settings = dict(line.split("=", 1) for line in ENGINE_STATE.read_text().splitlines() if "=" in line)
    return settings.get("PLATFORMS", "").split(",")


@pytest.fixture(scope="module")
def arm64_engine(engine):
    """The engine, once it is known to hold a linux/arm64 workshop image."""
    if ARM64 not in _platforms_built():
        _unavailable("no linux/arm64 image was built on this machine (.ci/images.sh builds one, CI_PLATFORMS)")
    return engine


def run_on_arm64(engine, purpose, args, timeout):
    """`<engine> run --rm --platform linux/arm64` of the workshop image without a network."""
    command, env = engine
    name = f"cnn-nlp-test-{os.getpid()}-arm64-{purpose}"
    try:
        return subprocess.run([*command, "run", "--rm", "--platform", ARM64, "--name", name, "--network", "none",
                               IMAGE, *args], capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        _remove(engine, name)


def test_workshop_image_on_arm64_runs_an_aarch64_mxnet_that_computes_as_numpy(arm64_engine):
    script = "import platform, runpy; print(platform.machine()); runpy.run_path('scripts/check_mxnet.py', run_name='__main__')"
    result = run_on_arm64(arm64_engine, "check", [".venv/bin/python", "-c", script], timeout=600)
    lines = result.stdout.split()
    assert result.returncode == 0 and lines[0] == "aarch64" and lines[-1] == "ok", result.stdout + result.stderr


def test_workshop_image_on_arm64_doctor_says_it_has_no_parameter_server(arm64_engine):
    result = run_on_arm64(arm64_engine, "doctor", [".venv/bin/python", "-m", "crepe", "doctor"], timeout=900)
    assert result.stdout.strip().endswith("all good"), result.stdout + result.stderr
    assert "without a parameter server" in result.stdout


def _manifest_platforms(engine, image):
    """The platforms of the manifest list ``image`` (podman or docker buildx), as os/architecture."""
    command, env = engine
    inspect = ["manifest", "inspect", image] if command[0] == "podman" else ["buildx", "imagetools", "inspect", "--raw",
                                                                             image]
    result = subprocess.run([*command, *inspect], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return sorted(f"{entry['platform']['os']}/{entry['platform']['architecture']}"
                  for entry in json.loads(result.stdout)["manifests"])


@pytest.mark.parametrize("image", [IMAGE, SERVING_IMAGE])
def test_images_built_here_are_manifest_lists_of_both_platforms(arm64_engine, image):
    assert _manifest_platforms(arm64_engine, image) == ["linux/amd64", "linux/arm64"]


@pytest.mark.parametrize("command", [["launch", "--workers", "2", "--dry-run", "--", "train"],
                                     ["train", "--kvstore", "dist_sync", "--epochs", "1", "--dataset", "sample"]],
                         ids=["launch", "train-dist-sync"])
def test_workshop_image_on_arm64_refuses_the_parameter_server_in_one_sentence(arm64_engine, command):
    from crepe.distributed.worker import NO_PARAMETER_SERVER

    result = run_on_arm64(arm64_engine, command[0], [".venv/bin/python", "-m", "crepe", *command], timeout=600)
    ours = [line for line in result.stderr.splitlines() if not line.startswith(ENGINE_PLATFORM_WARNING)]
    assert (result.returncode, ours) == (2, [f"error: {NO_PARAMETER_SERVER}"]), result.stdout + result.stderr


def test_workshop_image_on_arm64_predicts_the_shipped_models_answers_of_this_machine(arm64_engine):
    from crepe.inference import load_model, probabilities

    arguments = ["predict", "--model", "models/workshop-crepe-ag-news", "--json", *ARM64_HEADLINES]
    result = run_on_arm64(arm64_engine, "predict", [".venv/bin/python", "-m", "crepe", *arguments], timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    served = [list(json.loads(line)["probabilities"].values()) for line in result.stdout.splitlines()]
    net, _ = load_model(ROOT / "models" / "workshop-crepe-ag-news")
    assert abs(probabilities(net, list(ARM64_HEADLINES)) - served).max() < ARM64_TOLERANCE


def test_serving_image_on_arm64_answers_a_headline_as_this_machine_does(arm64_engine, serving_engine):
    from crepe.inference import load_model, probabilities

    name, api, _ = _start_serving(serving_engine, "serve-arm64", platform=ARM64)
    try:
        answer = _wait_for(f"http://127.0.0.1:{api}/predictions/crepe", json.dumps({"text": HEADLINE}).encode(),
                           seconds=600)
        assert answer is not None, "no answer in 600 s:\n" + _logs(serving_engine, name)[-4000:]
    finally:
        _remove(serving_engine, name)
    net, _ = load_model(ROOT / "models" / "workshop-crepe-ag-news")
    assert abs(probabilities(net, [HEADLINE])[0] - list(answer["probabilities"].values())).max() < ARM64_TOLERANCE
