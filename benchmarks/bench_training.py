"""Crepe-small training speed on this machine: MXNet variants against PyTorch, measured in one run.

    python benchmarks/bench_training.py [--batch 128] [--steps 4] [--write]

Each variant trains forward + backward + Adam update on random index frames at the same batch size,
in its own subprocess (so thread settings and OpenMP runtimes never mix), and reports samples/s:

- MXNet with its default thread count (no ``OMP_NUM_THREADS``: what a kernel other than the
  workshop's gives when ``mxnet`` is imported before ``crepe``);
- plain (imperative) Gluon, one-hot inside the network;
- hybridised (static_alloc, static_shape), one-hot inside the network: what crepe.fit uses;
- hybridised, one-hot built on the host and fed as float32 (the talk notebook's data path);
- PyTorch, the same architecture and initialisation, if ``torch`` is installed (an optional extra:
  ``pip install torch==2.13.0``; never a dependency of the workshop).

Every MXNet variant imports ``mxnet`` *before* ``crepe``, as most notebooks do. All but the first
run with ``OMP_NUM_THREADS`` in their environment, as the Jupyter kernel registered by ``make setup``
starts them: MXNet reads it once, when it loads (its runtime setter was measured to change
nothing). No variant reads a value back to the host inside the timed loop. ``--write`` stores the
table in benchmarks/README.md. A smoke run, to check that it works end to end (its numbers mean
nothing): ``--batch 16 --steps 1 --matmul-size 512``.

Where the limit is. Every variant trains the same network on the same 1014-column frames, so each
does :func:`training_flops_per_sample` floating-point operations per sample; samples/s times that is
the variant's training FLOP/s. It is set against this machine's float32 matrix-multiply rate,
measured in the same run, in a worker of its own with the training variants' ``OMP_NUM_THREADS``:

- numpy's sgemm (its bundled OpenBLAS), a ``size x size @ size x size`` float32 product, best of a
  few repeats; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, where this machine sets them (they pin older
  OpenBLAS builds to a safe, slower kernel), are unset for this worker alone, and the product is
  checked against float64;
- MXNet's own ``nd.dot`` on the same sizes (``wait_to_read``), with the training variants'
  environment unchanged.

The share column is against **numpy's sgemm**. What limits training is what the cores can do, and the
attainable float32 rate is what the best-tuned BLAS reaches on them; numpy's is the newer OpenBLAS,
run with the kernel it picks for this CPU. ``nd.dot`` measures MXNet's bundled OpenBLAS (0.3.13), a
path training does not take: MXNet's convolutions and dense layers run through oneDNN (the MKLDNN
feature; ``DNNL_VERBOSE=1`` shows them), so its rate is neither the machine's limit nor training's,
and a share of it would be inflated wherever it is the slower. The reference is still a measured
rate, not the cores' theoretical peak: oneDNN may run wider vector kernels than the OpenBLAS build
picks (AVX-512 against OpenBLAS 0.3.20's AVX2 "Zen" kernel on this EPYC), so a share near or above
100 % says that the reference BLAS, not the cores, was the limit found. Both rates, and the BLAS
kernel each ran (threadpoolctl), are printed. The ``default threads`` row is set against the same
all-core rate on purpose: what it leaves idle is its point.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

#: Frame length every variant trains on (crepe.quantise.FRAME_LENGTH: the paper network's dense layer reads no other).
LENGTH = 1014
#: Classes of the random labels.
CLASSES = 4
#: What pins an older OpenBLAS to a safe kernel on some processors (set by some machines); numpy's
#: matmul worker runs without both, the training variants and MXNet's nd.dot with what the machine sets.
OPENBLAS_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: The matmul rate that the share column divides by (see the module docstring for why).
REFERENCE = "numpy"

VARIANTS = {
    "mx-default-threads": "MXNet, default threads (no OMP_NUM_THREADS), hybridised",
    "mx-plain": "MXNet, imperative Gluon, one-hot inside",
    "mx-hybrid": "MXNet, hybridised, one-hot inside (crepe.fit)",
    "mx-hybrid-host-onehot": "MXNet, hybridised, float one-hot from the host",
    "torch": "PyTorch 2 (CPU), same architecture",
}


def mx_worker(variant, batch, steps):
    import mxnet as mx  # first, as in most notebooks
    import numpy as np
    from mxnet import autograd, gluon

    from crepe.model import Crepe
    from crepe.quantise import one_hot

    mx.random.seed(0)
    net = Crepe(CLASSES)
    net.initialize()
    host_one_hot = variant == "mx-hybrid-host-onehot"
    if host_one_hot:
        class FloatInput(gluon.HybridBlock):
            def __init__(self, crepe):
                super().__init__()
                self.crepe = crepe

            def hybrid_forward(self, F, x):
                return self.crepe.classifier(self.crepe.features(x))
        model = FloatInput(net)
    else:
        model = net
    if variant != "mx-plain":
        model.hybridize(static_alloc=True, static_shape=True)
    rng = np.random.RandomState(0)
    frames = rng.randint(0, 70, size=(batch, LENGTH)).astype(np.uint8)           # (N, 1014) indices
    labels = mx.nd.array(rng.randint(0, CLASSES, size=batch))
    trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 5e-4})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    def step():
        x = mx.nd.array(one_hot(frames)) if host_one_hot else mx.nd.array(frames, dtype="uint8")
        with autograd.record():
            loss = loss_fn(model(x), labels)
        loss.backward()
        trainer.step(batch)

    for _ in range(2):
        step()
    mx.nd.waitall()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    mx.nd.waitall()
    return batch * steps / (time.perf_counter() - start)


def torch_worker(batch, steps):
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers, channels = [], 69
    for kind, width in [("c", 7), ("p", 3), ("c", 7), ("p", 3), ("c", 3), ("c", 3), ("c", 3), ("c", 3), ("p", 3)]:
        if kind == "c":
            layers += [nn.Conv1d(channels, 256, width), nn.ReLU()]
            channels = 256
        else:
            layers.append(nn.MaxPool1d(width, width))
    layers += [nn.Flatten(), nn.Linear(8704, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 1024), nn.ReLU(),
               nn.Dropout(0.5), nn.Linear(1024, CLASSES)]
    model = nn.Sequential(*layers)
    for parameter in model.parameters():
        nn.init.normal_(parameter, std=0.05)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    rng = np.random.RandomState(0)
    frames = torch.from_numpy(rng.randint(0, 70, size=(batch, LENGTH)).astype(np.int64))
    labels = torch.from_numpy(rng.randint(0, CLASSES, size=batch).astype(np.int64))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        x = torch.nn.functional.one_hot(frames, 70)[:, :, 1:].transpose(1, 2).float()   # one-hot inside, as MXNet
        optimizer.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def training_flops_per_sample(length=LENGTH, filters=256, units=1024, classes=CLASSES):
    """Floating-point operations of one training sample of the paper's Crepe, from crepe.arithmetic's counts.

    Convention: a multiply-add is 2 FLOPs. Training is 3 passes over every convolution and dense
    layer, each as costly as the forward one: forward, gradient with respect to the layer's input,
    gradient with respect to its weights. The first convolution's input is the one-hot data, which
    needs no gradient (oneDNN runs no backward-data pass for it), so that layer counts twice, not
    three times. Biases, ReLU, pooling, dropout, the loss and Adam's update are left out: each is one
    or a few operations per value or parameter, under 1 % of the total.

    Parameters
    ----------
    length : int, optional
        Frame length (default 1014, what every variant trains on).
    filters : int, optional
        Feature maps per convolution (default 256, Crepe small).
    units : int, optional
        Units of each of the two hidden dense layers (default 1024, Crepe small).
    classes : int, optional
        Output units (default 4, as the benchmark's labels).

    Returns
    -------
    int
        ``2 * (3 * forward multiply-adds - conv1's multiply-adds)``.

    Examples
    --------
    By hand, from the layer table (input channels x maps x width x output length):
    conv1 69*256*7*1008 = 124,637,184; conv2 256*256*7*330 = 151,388,160; conv3-6
    256*256*3*(108+106+104+102) = 82,575,360; dense 8704*1024 + 1024*1024 + 1024*4 = 9,965,568. The
    forward pass is 368,566,272 multiply-adds; training is 2 * (3 * 368,566,272 - 124,637,184):

    >>> training_flops_per_sample()
    1962123264
    """
    from crepe.arithmetic import CREPE_LAYERS, conv_multiply_adds, crepe_shape_walk, dense_params
    from crepe.quantise import NUM_CHARS

    lengths = dict(crepe_shape_walk(length, filters))          # layer name -> output length; "flatten" -> features
    channels, convolutions = NUM_CHARS, []
    for name, kind, width in CREPE_LAYERS:
        if kind == "conv":
            convolutions.append(conv_multiply_adds(channels, filters, width, lengths[name]))
            channels = filters
    widths = (lengths["flatten"], units, units, classes)       # 8704 -> 1024 -> 1024 -> 4 for small
    dense = [dense_params(n_in, n_out, bias=False) for n_in, n_out in zip(widths, widths[1:])]
    forward = sum(convolutions) + sum(dense)
    return 2 * (3 * forward - convolutions[0])


def matmul_worker(library, size, repeats):
    """Best-of-``repeats`` float32 rate of one ``size x size @ size x size`` product, and the BLAS that ran.

    Parameters
    ----------
    library : {"numpy", "mxnet"}
        ``numpy``: ``a @ b`` (numpy's sgemm); ``mxnet``: ``mx.nd.dot`` followed by ``wait_to_read``.
    size : int
        Side of the square matrices.
    repeats : int
        Timed products, after one untimed warm-up; the fastest counts.

    Returns
    -------
    dict
        ``flops_per_s`` (float) and ``blas`` (str, the OpenBLAS version, kernel and threads of
        ``library``'s own BLAS, as threadpoolctl reports them).

    Raises
    ------
    RuntimeError
        If the product's first rows differ from a float64 product (a wrong kernel for this CPU).
    """
    import numpy as np

    rng = np.random.RandomState(0)
    a, b = (rng.standard_normal((size, size)).astype(np.float32) for _ in range(2))     # (size, size) each
    if library == "numpy":
        def product():
            return a @ b                                                                 # (size, size)
    else:
        import mxnet as mx
        x, y = mx.nd.array(a), mx.nd.array(b)

        def product():
            out = mx.nd.dot(x, y)                                                        # (size, size), queued
            out.wait_to_read()
            return out
    first = product()                                                                    # warm-up
    rows = (first if library == "numpy" else first.asnumpy())[:64]                       # (64, size)
    if not np.allclose(rows, a[:64].astype(np.float64) @ b, rtol=1e-4, atol=1e-3 * np.sqrt(size)):
        raise RuntimeError(f"{library}'s float32 matmul gives wrong results here: check {OPENBLAS_KERNEL_VARIABLES}")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - start)
    return {"flops_per_s": 2 * size ** 3 / best, "blas": blas_in_use(library)}


def blas_in_use(library):
    """``library``'s BLAS as threadpoolctl sees it, e.g. ``openblas 0.3.20, Zen kernel, 2 threads``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS unknown (no threadpoolctl)"
    found = [info for info in threadpool_info() if info["user_api"] == "blas" and f"/{library}" in info["filepath"]]
    return "; ".join(f"{info['internal_api']} {info['version']}, {info.get('architecture')} kernel, "
                     f"{info['num_threads']} threads" for info in found) or "BLAS unknown"


def variant_env(variant, base=None):
    """The environment a worker starts with: ``base`` (default ``os.environ``), threads set as ``variant`` runs.

    ``mx-default-threads`` gets no ``OMP_NUM_THREADS`` (and ``CREPE_KEEP_THREADS=1``); every other
    variant, as the workshop's Jupyter kernel (make setup) starts every process, the usable cores.
    ``matmul-numpy`` is the training variants' environment without ``OPENBLAS_KERNEL_VARIABLES``.
    """
    env = {key: value for key, value in (os.environ if base is None else base).items() if key != "OMP_NUM_THREADS"}
    if variant == "mx-default-threads":
        env["CREPE_KEEP_THREADS"] = "1"
    else:
        env["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    if variant == "matmul-numpy":
        for key in OPENBLAS_KERNEL_VARIABLES:
            env.pop(key, None)
    return env


def run_worker(variant, options):
    """Run ``--worker variant`` with ``options`` (list of str) in a fresh interpreter: its JSON, None without torch."""
    result = subprocess.run([sys.executable, __file__, "--worker", variant, *options],
                            capture_output=True, text=True, env=variant_env(variant))
    if result.returncode != 0:
        if "No module named 'torch'" in result.stderr:
            return None
        raise RuntimeError(f"{variant} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_variant(variant, batch, steps):
    """Run one variant in a fresh interpreter; return samples/s or None if it cannot run here."""
    result = run_worker(variant, ["--batch", str(batch), "--steps", str(steps)])
    return result and result["samples_per_s"]


def run_matmuls(size, repeats):
    """``{"numpy": ..., "mxnet": ...}``: each library's :func:`matmul_worker` result, from its own interpreter."""
    options = ["--matmul-size", str(size), "--repeats", str(repeats)]
    return {library: run_worker(f"matmul-{library}", options) for library in ("numpy", "mxnet")}


def matmul_line(matmuls, size, repeats, environ=None):
    """One paragraph: both float32 matmul rates, their BLAS, the environment, and which one is the reference."""
    environ = os.environ if environ is None else environ
    threads = variant_env("mx-hybrid", environ)["OMP_NUM_THREADS"]
    kernel_env = ", ".join(f"{key}={environ.get(key, '(unset)')}" for key in OPENBLAS_KERNEL_VARIABLES)
    np_dot, mx_dot = matmuls["numpy"], matmuls["mxnet"]
    return (f"float32 matmul {size}x{size} @ {size}x{size}, best of {repeats}, OMP_NUM_THREADS={threads} as the "
            f"training variants; environment {kernel_env}: numpy sgemm {np_dot['flops_per_s'] / 1e9:.1f} GFLOP/s "
            f"({np_dot['blas']}; both variables unset for it), MXNet nd.dot {mx_dot['flops_per_s'] / 1e9:.1f} "
            f"GFLOP/s ({mx_dot['blas']}; environment as the training variants). The share is against numpy's "
            "sgemm: the attainable float32 rate is what the best BLAS reaches on these cores, while nd.dot times "
            "MXNet's bundled OpenBLAS, which training's convolutions and dense layers (oneDNN) do not use.")


def report(rates, batch, flops, reference):
    """The table: samples/s, ratio against PyTorch, training GFLOP/s and its share of ``reference`` FLOP/s.

    Parameters
    ----------
    rates : dict
        Variant (a key of ``VARIANTS``) -> samples/s, or None where it could not run.
    batch : int
        Batch size, for the header.
    flops : int
        Training FLOPs per sample (:func:`training_flops_per_sample`).
    reference : float
        The reference float32 matmul rate, FLOP/s.

    Returns
    -------
    str
        A markdown table, one row a variant.
    """
    from benchmarks.machine import table

    torch = rates.get("torch")
    rows = [(VARIANTS[v], f"{r:.1f}" if r else "not installed", f"{r / torch:.2f}x" if r and torch else "-",
             f"{r * flops / 1e9:.1f}" if r else "-", f"{r * flops / reference:.0%}" if r else "-")
            for v, r in rates.items()]
    return table(rows, (f"Crepe small, batch {batch}, forward+backward+Adam", "samples/s", "vs PyTorch",
                        "training GFLOP/s", f"share of {REFERENCE} sgemm"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per variant (after 2 warm-up steps)")
    parser.add_argument("--matmul-size", type=int, default=2048, help="side of the square float32 matmul")
    parser.add_argument("--repeats", type=int, default=3, help="timed matmuls per library (the fastest counts)")
    parser.add_argument("--write", action="store_true", help="store the table in benchmarks/README.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    from benchmarks.machine import describe, write_section

    flops = training_flops_per_sample()     # before MXNet loads here: importing crepe after it would warn
    machine = describe()
    print(machine)
    matmuls = run_matmuls(args.matmul_size, args.repeats)
    rates = {variant: run_variant(variant, args.batch, args.steps) for variant in VARIANTS}
    lines = (f"training FLOPs per sample: {flops / 1e9:.3f} G (2 x (3 x forward multiply-adds - conv1's), "
             f"{LENGTH}-column frames; benchmarks/bench_training.py:training_flops_per_sample)\n\n"
             f"{matmul_line(matmuls, args.matmul_size, args.repeats)}")
    text = f"{lines}\n\n{report(rates, args.batch, flops, matmuls[REFERENCE]['flops_per_s'])}"
    print(text)
    if args.write:
        write_section("training", f"{machine}\n\n{text}")


def worker(args):
    """What one ``--worker`` subprocess measures, as a JSON-ready dict."""
    if args.worker.startswith("matmul-"):
        return matmul_worker(args.worker.removeprefix("matmul-"), args.matmul_size, args.repeats)
    if args.worker == "torch":
        return {"samples_per_s": torch_worker(args.batch, args.steps)}
    return {"samples_per_s": mx_worker(args.worker, args.batch, args.steps)}

if __name__ == "__main__":
    main()
