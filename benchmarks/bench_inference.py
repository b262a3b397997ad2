"""Crepe-small inference: latency for one text and throughput for batches, three ways, in one run.

    python benchmarks/bench_inference.py [--repeat 5] [--write]

- imperative Gluon (not hybridised);
- hybridised (static_alloc, static_shape), as ``crepe.load_model`` returns it;
- exported to MXNet's symbolic format and loaded back with ``SymbolBlock.imports``.

Latency is the median time of ``predict`` for one text, encoding and softmax included; throughput
is documents/s for batches of 256 frames already encoded. ``--write`` stores the table in
benchmarks/README.md.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import crepe  # noqa: E402,F401  (sets the thread count before mxnet loads)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.machine import describe, table, write_section  # noqa: E402
from crepe.model import Crepe  # noqa: E402
from crepe.quantise import encode  # noqa: E402
from crepe.inference import export, load_exported, predict  # noqa: E402

CLASSES = ("World", "Sports", "Business", "Sci/Tech")
TEXT = "Astronomers used the Hubble telescope to discover a new moon orbiting Saturn"


def models(folder):
    """The three variants, all with the same weights."""
    mx.random.seed(0)
    plain = Crepe(4)
    plain.initialize()
    hybrid = Crepe(4)
    hybrid.initialize()
    for target, source in zip(hybrid.collect_params().values(), plain.collect_params().values()):
        target.set_data(source.data())
    hybrid.hybridize(static_alloc=True, static_shape=True)
    export(hybrid, Path(folder) / "crepe")
    return {"imperative Gluon": plain, "hybridised": hybrid, "exported SymbolBlock": load_exported(Path(folder) / "crepe")}


def latency_ms(net, repeat):
    predict(net, TEXT, CLASSES)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        predict(net, TEXT, CLASSES)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def throughput(net, batch, repeat):
    x = mx.nd.array(encode([TEXT] * batch), dtype="uint8")
    net(x).wait_to_read()
    start = time.perf_counter()
    for _ in range(repeat):
        net(x).wait_to_read()
    return batch * repeat / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--write", action="store_true", help="store the table in benchmarks/README.md")
    args = parser.parse_args(argv)
    print(describe())
    with tempfile.TemporaryDirectory() as folder:
        variants = models(folder)
        x = mx.nd.array(encode(["one", "two"]), dtype="uint8")
        outputs = [net(x).asnumpy() for net in variants.values()]
        assert all(np.allclose(outputs[0], o, rtol=1e-4, atol=1e-5) for o in outputs), "variants disagree"
        rows = [(name, f"{latency_ms(net, args.repeat):.1f}", f"{throughput(net, args.batch, args.repeat):.0f}")
                for name, net in variants.items()]
    text = table(rows, ("Crepe small", "one text: latency (ms)", f"batch {args.batch}: docs/s"))
    print(text)
    if args.write:
        write_section("inference", f"{describe()}\n\n{text}")


if __name__ == "__main__":
    main()
