"""``python -m crepe doctor``: the check an instructor runs the day before a workshop.

It reports, each with ``ok`` or ``!!``: Python and package versions against the pins in
``requirements/``, MXNet's build features, every GPU with its compute capability and whether this
MXNet has kernels for it (decided by a real forward pass compared with the CPU, not by a table
alone), a short throughput figure per device, and which data sets are present.

Exit status: 0 when every check passed ("all good"), 1 when something needs attention (each such
line starts with ``!!``): a version that differs from the pins, a GPU this MXNet cannot use (an
H100/H200 has no MXNet 1.9.1 kernels at all; a supported card with the CPU build installed needs
``make setup GPU=1``), a GPU that fails its test convolution, or a missing bundled sample. No GPU
at all is not a problem: the workshop runs on the CPU.
"""
import platform
import re
import shutil
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .devices import SUPPORTED_COMPUTE_CAPABILITIES, probe_gpu, quiet_stderr

ROOT = Path(__file__).resolve().parents[1]


def read_pins(stack="cpu"):
    """Top-level pins ``{package: version}`` of ``requirements/<stack>.txt`` (following ``-r``)."""
    pins = {}

    def read(path):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("-r "):
                read(path.parent / line.split()[1])
            elif re.match(r"^[A-Za-z0-9_.\-]+==", line):
                name, pinned = line.split("#")[0].strip().split("==")
                pins[name.lower()] = pinned

    path = ROOT / "requirements" / f"{stack}.txt"
    if path.is_file():
        read(path)
    return pins


def has_kernels_for(capability):
    """Whether MXNet 1.9.1's GPU wheels can run on a card of ``capability`` ("8.6", "9.0", ...).

    A cubin built for sm_XY runs on sm_XZ with Z >= Y (same major version), never across majors.

    Examples
    --------
    >>> [has_kernels_for(c) for c in ("7.5", "8.9", "9.0", "3.7")]
    [True, True, False, False]
    """
    major, minor = (int(part) for part in capability.split("."))
    return any(int(s.split(".")[0]) == major and int(s.split(".")[1]) <= minor
               for s in SUPPORTED_COMPUTE_CAPABILITIES)


def list_gpus():
    """``[(index, name, compute capability)]`` from ``nvidia-smi``, or [] without a driver."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,name,compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 3 and parts[0].isdigit():
            gpus.append((int(parts[0]), parts[1], parts[2]))
    return gpus


def _throughput(ctx, batch=16, seconds=1.0, slow=10.0):
    """Crepe-small forward passes per second (samples/s) on ``ctx``, timed for about ``seconds``.

    A machine that needs more than ``slow`` seconds for its first sample (graph included; an arm64 image
    under emulation) is judged on that sample alone, so that the check stays short there.
    """
    import mxnet as mx

    from .families import hybridize
    from .model import Crepe

    net = Crepe(4)
    net.initialize(ctx=ctx)
    hybridize(net)
    start = time.perf_counter()
    net(mx.nd.zeros((1, 1014), ctx=ctx, dtype="uint8")).wait_to_read()              # (1, 4), graph built too
    if time.perf_counter() - start > slow:
        return 1 / (time.perf_counter() - start)
    x = mx.nd.zeros((batch, 1014), ctx=ctx, dtype="uint8")
    net(x).wait_to_read()
    done, start = 0, time.perf_counter()
    while done == 0 or time.perf_counter() - start < seconds:
        net(x).wait_to_read()
        done += batch
    return done / (time.perf_counter() - start)


def parameter_server_line():
    """Whether this MXNet can train on several workers (``launch``), as a report line.

    Examples
    --------
    >>> parameter_server_line().startswith("--  parameter server (several workers")
    True
    """
    from .distributed.worker import NO_PARAMETER_SERVER, parameter_server_built

    return "--  parameter server (several workers, `python -m crepe launch`): " + \
        ("built in" if parameter_server_built() else NO_PARAMETER_SERVER)


def run(out=print):
    """Print the report; return 0 if nothing is wrong, 1 otherwise."""
    problems = 0

    def line(ok, text):
        nonlocal problems
        problems += not ok
        out(f"{'ok' if ok else '!!'}  {text}")

    py = sys.version_info
    line(py[:2] in ((3, 10), (3, 11)), f"Python {platform.python_version()} (MXNet 1.9.1 needs 3.10 or 3.11)")
    with quiet_stderr():
        import mxnet as mx
    cuda_build = mx.runtime.Features().is_enabled("CUDA")
    stack = "gpu" if cuda_build else "cpu"
    pins = read_pins(stack)
    if not pins:
        out("--  pins not found (requirements/ is not beside this package); versions are not checked")
    for package in ("mxnet-cu112" if cuda_build else "mxnet", "numpy", "gluonnlp", "matplotlib", "tqdm"):
        try:
            installed = version(package)
        except PackageNotFoundError:
            installed = None
        wanted = pins.get(package)
        line(installed is not None and (wanted is None or installed == wanted),
             f"{package} {installed or 'not installed'}" + (f" (pinned {wanted})" if wanted else ""))
    features = mx.runtime.Features()
    shown = ("CUDA", "CUDNN", "NCCL", "MKLDNN", "OPENMP", "BLAS_OPEN", "BLAS_MKL", "F16C", "AVX", "AVX2")
    out("--  MXNet build: " + ", ".join(f"{name}{'+' if features.is_enabled(name) else '-'}"
                                       for name in shown if name in features))
    out(parameter_server_line())
    gpus = list_gpus()
    if not gpus:
        out("--  no NVIDIA GPU found (nvidia-smi absent or lists none): the workshop runs on the CPU")
    for index, name, capability in gpus:
        supported = has_kernels_for(capability)
        text = (f"GPU {index}: {name}, compute capability {capability}: MXNet 1.9.1 "
                f"{'has' if supported else 'has NO'} kernels for it")
        if not supported:
            line(False, text + "; no MXNet 1.9.1 build can use this card, so training runs on the CPU")
            continue
        if not cuda_build:
            line(False, text + "; but this MXNet is the CPU build: run `make setup GPU=1` (mxnet-cu112)")
            continue
        problem = probe_gpu(index)
        line(problem is None, text + ("; a test convolution matched the CPU" if problem is None else f"; {problem}"))
        if problem is None:
            out(f"--  GPU {index} throughput: {_throughput(mx.gpu(index)):.3g} Crepe-small forward samples/s")
    out(f"--  CPU throughput: {_throughput(mx.cpu()):.3g} Crepe-small forward samples/s")
    from .data import AG_NEWS, AMAZON_CATEGORIES, SAMPLE_DIR, default_cache

    line((SAMPLE_DIR / "train.csv").is_file(), f"bundled sample in {SAMPLE_DIR}")
    cache = default_cache()
    ag = [cache / "ag_news" / name for name in AG_NEWS]
    out(f"--  AG News: {'present' if all(p.is_file() for p in ag) else 'not downloaded yet'} in {ag[0].parent} "
        "(python -m crepe train --dataset ag_news downloads and verifies it)")
    amazon = [cache / "amazon" / f"reviews_{c}_5.json.gz" for c in AMAZON_CATEGORIES]
    out(f"--  Amazon categories: {sum(p.is_file() for p in amazon)} of {len(amazon)} files in {amazon[0].parent}")
    out("all good" if not problems else f"{problems} problem(s) above")
    return 0 if not problems else 1
