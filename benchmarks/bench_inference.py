"""Crepe-small inference: latency for one text and throughput for batches, three ways, in one run.

    python benchmarks/bench_inference.py [--repeat 5] [--write]
    python benchmarks/bench_inference.py --onnx [--repeat 5] [--browser]

- imperative Gluon (not hybridised);
- hybridised (static_alloc, static_shape), as ``crepe.load_model`` returns it;
- exported to MXNet's symbolic format and loaded back with ``SymbolBlock.imports``.

Latency is the median time of ``predict`` for one text, encoding and softmax included; throughput
is documents/s for batches of 256 frames already encoded. ``--write`` stores the table in
benchmarks/README.md.

``--onnx``: the shipped model (models/workshop-crepe-ag-news) in MXNet in-process (hybridised, as
``crepe.load_model`` returns it) against the same model exported to ONNX and run by ONNX Runtime on the
CPU, on the same texts (the sample's test rows): texts/s at batch 1 and 64, encoding and softmax included
in both, and their ratio. ``--browser`` adds the static demo (``export --format web``; needs the
onnxruntime-web files, ``npm ci`` in web/) in headless Chromium from a static server on 127.0.0.1: the
median time per headline of the page's own path (encoding, onnxruntime-web WASM on one thread, softmax).
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
from crepe.inference import export, load_exported, load_model, predict, probabilities  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "workshop-crepe-ag-news"
#: Batch sizes of the ONNX comparison, and the headlines timed in the browser.
ONNX_BATCHES, BROWSER_HEADLINES = (1, 64), 40

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


def texts_per_second(run, texts, batch, repeat):
    """Texts/s of ``run(list of texts)`` over ``texts`` in batches of ``batch`` (median of ``repeat`` passes)."""
    batches = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    run(batches[0])                                                        # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for chunk in batches:
            run(chunk)
        times.append(time.perf_counter() - start)
    return len(texts) / statistics.median(times)


def onnx_rows(texts, repeat, folder):
    """[(batch, MXNet texts/s, ONNX Runtime texts/s, ratio)] for the shipped model; checks they agree."""
    from crepe.onnx_export import write_onnx
    from crepe.onnx_runtime import load_onnx

    net, config = load_model(SHIPPED)
    runtime = load_onnx(write_onnx(net, config, Path(folder) / "crepe.onnx")[0])
    difference = np.abs(runtime.probabilities(texts) - probabilities(net, texts)).max()
    assert difference < 1e-5, f"ONNX Runtime and MXNet disagree by {difference}"
    rows = []
    for batch in ONNX_BATCHES:
        mxnet_rate = texts_per_second(lambda chunk: probabilities(net, chunk), texts, batch, repeat)
        onnx_rate = texts_per_second(runtime.probabilities, texts, batch, repeat)
        rows.append((batch, f"{mxnet_rate:.0f}", f"{onnx_rate:.0f}", f"{onnx_rate / mxnet_rate:.2f}"))
    return rows, difference


def browser_ms(texts, folder):
    """Median ms per headline in headless Chromium, the static demo served on 127.0.0.1 (no model server)."""
    from crepe.web_export import write_site
    from tests.browser import start_chromium
    from tests.static import static_server

    net, config = load_model(SHIPPED)
    site = write_site(net, config, Path(folder) / "site")
    chrome = start_chromium()
    try:
        with static_server(site) as url:
            chrome.get(url + "index.html")
            deadline = time.monotonic() + 60
            while chrome.execute_script("return window.crepeDemo ? window.crepeDemo.ready : null") is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("the static demo did not load its model within 60 s")
                time.sleep(0.2)
            times = chrome.execute_async_script("""
                const done = arguments[arguments.length - 1];
                (async () => { await window.crepeDemo.inBrowser("warm-up"); const ms = [];
                  for (const text of arguments[0]) ms.push((await window.crepeDemo.inBrowser(text)).ms);
                  return ms; })().then(done).catch((error) => done(String(error)));""", texts)
            agent = chrome.execute_script("return navigator.userAgent")
    finally:
        chrome.quit()
    if isinstance(times, str):
        raise RuntimeError(f"the page failed: {times}")
    return statistics.median(times), agent


def main_onnx(args):
    """The ONNX Runtime / MXNet comparison (and the browser's time per headline with ``--browser``)."""
    import os

    import onnxruntime

    from crepe.data import load_evaluation_set

    texts = list(load_evaluation_set("sample")["rows"][0])
    print(describe())
    print(f"onnxruntime {onnxruntime.__version__}, its own thread choice; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS')}; load average {os.getloadavg()[0]:.2f} (1 min) before the run")
    with tempfile.TemporaryDirectory() as folder:
        rows, difference = onnx_rows(texts, args.repeat, folder)
        print(f"{len(texts)} texts of the sample's test rows; largest probability difference {difference:.1e}")
        print(table(rows, ("batch", "MXNet texts/s", "ONNX Runtime texts/s", "ONNX Runtime / MXNet")))
        if args.browser:
            ms, agent = browser_ms(texts[:BROWSER_HEADLINES], folder)
            print(f"browser (onnxruntime-web WASM, 1 thread, {agent}): median {ms:.1f} ms per headline "
                  f"over {BROWSER_HEADLINES} headlines")
    print(f"load average {os.getloadavg()[0]:.2f} (1 min) after the run")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--write", action="store_true", help="store the table in benchmarks/README.md")
    parser.add_argument("--onnx", action="store_true", help="ONNX Runtime against MXNet on the shipped model")
    parser.add_argument("--browser", action="store_true", help="with --onnx: the static demo's time per headline "
                        "in headless Chromium")
    args = parser.parse_args(argv)
    if args.onnx:
        return main_onnx(args)
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
