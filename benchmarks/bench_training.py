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
table in benchmarks/README.md.
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

VARIANTS = {
    "mx-default-threads": "MXNet, default threads (no OMP_NUM_THREADS), hybridised",
    "mx-plain": "MXNet, imperative Gluon, one-hot inside",
    "mx-hybrid": "MXNet, hybridised, one-hot inside (crepe.fit)",
    "mx-hybrid-host-onehot": "MXNet, hybridised, float one-hot from the host",
    "torch": "PyTorch 2 (CPU), same architecture",
}


def mx_worker(variant, batch, steps):
    import mxnet as mx              # first, as in most notebooks
    import numpy as np
    from mxnet import autograd, gluon

    import crepe                    # sets the threads through MXNet's runtime (not for mx-default-threads)
    from crepe.model import Crepe
    from crepe.quantise import one_hot

    mx.random.seed(0)
    net = Crepe(4)
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
    frames = rng.randint(0, 70, size=(batch, 1014)).astype(np.uint8)
    labels = mx.nd.array(rng.randint(0, 4, size=batch))
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
               nn.Dropout(0.5), nn.Linear(1024, 4)]
    model = nn.Sequential(*layers)
    for parameter in model.parameters():
        nn.init.normal_(parameter, std=0.05)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    rng = np.random.RandomState(0)
    frames = torch.from_numpy(rng.randint(0, 70, size=(batch, 1014)).astype(np.int64))
    labels = torch.from_numpy(rng.randint(0, 4, size=batch).astype(np.int64))
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


def run_variant(variant, batch, steps):
    """Run one variant in a fresh interpreter; return samples/s or None if it cannot run here."""
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS",)}
    if variant == "mx-default-threads":
        env["CREPE_KEEP_THREADS"] = "1"
    else:                           # as the workshop's Jupyter kernel (make setup) starts every process
        env["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    result = subprocess.run([sys.executable, __file__, "--worker", variant, "--batch", str(batch), "--steps", str(steps)],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        if "No module named 'torch'" in result.stderr:
            return None
        raise RuntimeError(f"{variant} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["samples_per_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per variant (after 2 warm-up steps)")
    parser.add_argument("--write", action="store_true", help="store the table in benchmarks/README.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        rate = torch_worker(args.batch, args.steps) if args.worker == "torch" else mx_worker(args.worker, args.batch, args.steps)
        print(json.dumps({"samples_per_s": rate}))
        return
    from benchmarks.machine import describe, table, write_section

    print(describe())
    rates = {variant: run_variant(variant, args.batch, args.steps) for variant in VARIANTS}
    reference = rates["torch"]
    rows = [(VARIANTS[v], f"{r:.1f}" if r else "not installed", f"{r / reference:.2f}x" if r and reference else "-")
            for v, r in rates.items()]
    text = table(rows, (f"Crepe small, batch {args.batch}, forward+backward+Adam", "samples/s", "vs PyTorch"))
    print(text)
    if args.write:
        write_section("training", f"{describe()}\n\n{text}")


if __name__ == "__main__":
    main()
