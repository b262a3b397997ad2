"""The workshop Crepe behind MXNet Model Server: requests/s and latency by concurrency, against in-process calls.

    python benchmarks/bench_serving.py [--seconds 10] [--write]

In one run, on this machine:

- ``python -m crepe serve`` is started twice (one Python worker, every core), registered with batch
  size 1 and then 16 (``--max-batch-delay``, default 5 ms);
- 1, 8 and 64 concurrent clients (threads with keep-alive HTTP connections, in this process) each send
  ``{"text": ...}`` requests back to back for ``--seconds``; requests/s, p50 and p99 latency are kept;
- the same 64 clients through the demo page's server, which forwards ``/predictions/<name>`` to the
  model server (batch size 16): what a browser, or a load balancer routed to the page's port, gets;
- the ceiling: the same network called in-process (``crepe.inference.probabilities``) on one text and on
  batches of 16 of the same texts.

The clients share the machine's cores with the server, as a second process on one machine would.
``--write`` stores benchmarks/serving.json, benchmarks/serving.png and a section of benchmarks/README.md.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import crepe  # noqa: E402,F401  (sets the thread count before mxnet loads)

from benchmarks.machine import describe, table, write_section  # noqa: E402

HERE = Path(__file__).resolve().parent
CLIENTS, BATCH_SIZES, BATCH = (1, 8, 64), (1, 16), 16
START_SECONDS = 180


def headlines():
    """The bundled sample's test texts: what the clients send, in turn."""
    from crepe.data import load_evaluation_set

    return list(load_evaluation_set("sample")["rows"][0])


def in_process(model_dir, texts, repeat=50):
    """(median ms for one text, texts/s one at a time, texts/s in batches of BATCH) with ``probabilities``,
    encoding included."""
    from crepe.inference import load_model, probabilities

    net, _ = load_model(model_dir)
    probabilities(net, texts[:BATCH])
    single = []
    for text in texts[:repeat]:
        start = time.perf_counter()
        probabilities(net, [text])
        single.append(time.perf_counter() - start)
    start, done = time.perf_counter(), 0
    for first in range(0, repeat * BATCH, BATCH):
        probabilities(net, [texts[(first + i) % len(texts)] for i in range(BATCH)])
        done += BATCH
    return 1000 * statistics.median(single), len(single) / sum(single), done / (time.perf_counter() - start)


class Server:
    """``python -m crepe serve`` in its own session, stopped by SIGINT to its PID."""

    def __init__(self, model_dir, run_dir, batch_size, delay, port):
        command = [sys.executable, "-m", "crepe", "serve", "--model", str(model_dir), "--port", str(port),
                   "--run-dir", str(run_dir), "--batch-size", str(batch_size), "--max-batch-delay", str(delay)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self.url, self.page, deadline = None, None, time.monotonic() + START_SECONDS
        for line in self.process.stdout:
            match = re.match(r"(predictions|demo page): (\S+)", line)
            if match and match.group(1) == "predictions":
                self.url = match.group(2)
            elif match:
                self.page = match.group(2).rstrip("/") + urllib.parse.urlsplit(self.url or "").path
            if line.startswith("demo page:") or time.monotonic() > deadline:
                break
        if self.url is None:
            self.stop()
            raise SystemExit(f"serve did not start: {line.strip()}")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def client(url, texts, offset, until, latencies):
    """Send requests back to back on one keep-alive connection until ``until``; append each latency."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    index = offset
    while time.perf_counter() < until:
        body = json.dumps({"text": texts[index % len(texts)]})
        start = time.perf_counter()
        connection.request("POST", parts.path, body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"the server answered {answer.status}")
        latencies.append(time.perf_counter() - start)
        index += 1
    connection.close()


def load(url, texts, clients, seconds):
    """requests/s, p50 and p99 (ms) with ``clients`` concurrent clients, after one second of warm-up."""
    warm = []
    client(url, texts, 0, time.perf_counter() + 1, warm)
    latencies, start = [], time.perf_counter()
    until = start + seconds
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda i: client(url, texts, i * 7, until, latencies), range(clients)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {"requests_per_s": len(ordered) / elapsed, "p50_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "requests": len(ordered)}


def targets(ceiling_single_ms, ceiling_batched, served, ceiling_single_rate):
    """The issue's three targets, each with what was measured and whether it was met; the last row is
    what bounds the third: batching cannot gain more over the wire than it gains in-process."""
    at = {(row["batch_size"], row["clients"]): row for row in served if row["via"] == "predictions port"}
    share = at[(16, 64)]["requests_per_s"] / ceiling_batched
    forwarded = [row for row in served if row["via"] == "page port"][0]["requests_per_s"] / ceiling_batched
    gap = at[(1, 1)]["p50_ms"] - ceiling_single_ms
    gain = at[(16, 64)]["requests_per_s"] / at[(1, 64)]["requests_per_s"]
    return [
        {"target": "64 clients, batch 16: >= 60 % of in-process batched throughput",
         "measured": f"{100 * share:.0f} %", "met": share >= 0.6},
        {"target": "the same through the page server's forwarding: >= 60 %",
         "measured": f"{100 * forwarded:.0f} %", "met": forwarded >= 0.6},
        {"target": "1 client p50 (batch 1) within 10 ms of in-process single-text latency",
         "measured": f"{gap:+.1f} ms ({at[(1, 1)]['p50_ms']:.1f} vs {ceiling_single_ms:.1f})", "met": gap <= 10},
        {"target": "64 clients: batch 16 >= 2x the throughput of batch 1",
         "measured": f"{gain:.2f}x", "met": gain >= 2},
        {"target": f"(its ceiling) in-process: batches of {BATCH} against one text at a time",
         "measured": f"{ceiling_batched / ceiling_single_rate:.2f}x", "met": None},
    ]


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, rate) = plt.subplots(1, 2, figsize=(10, 3.8))
    for batch_size, colour in zip(BATCH_SIZES, ("tab:orange", "tab:blue")):
        rows = [row for row in result["served"]
                if row["batch_size"] == batch_size and row["via"] == "predictions port"]
        clients = [row["clients"] for row in rows]
        latency.plot(clients, [row["p50_ms"] for row in rows], "o-", color=colour, label=f"batch {batch_size}: p50")
        latency.plot(clients, [row["p99_ms"] for row in rows], "o--", color=colour, alpha=0.6,
                     label=f"batch {batch_size}: p99")
        rate.plot(clients, [row["requests_per_s"] for row in rows], "o-", color=colour, label=f"batch {batch_size}")
    rate.axhline(result["in_process"]["batched_texts_per_s"], color="grey", ls=":",
                 label=f"in-process, batches of {BATCH}")
    for axis, title, unit in ((latency, "latency", "ms"), (rate, "throughput", "requests/s")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(CLIENTS, [str(c) for c in CLIENTS])
        axis.set(xlabel="concurrent clients", ylabel=unit, title=title)
        axis.legend(fontsize=8)
    latency.set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def measure(model_dir, texts, args, work):
    served = []
    for batch_size in BATCH_SIZES:
        server = Server(model_dir, work / f"run-{batch_size}", batch_size, args.max_batch_delay, args.port)
        try:
            ways = [(server.url, "predictions port", clients) for clients in CLIENTS]
            ways += [(server.page, "page port", CLIENTS[-1])] if batch_size == BATCH else []
            for url, via, clients in ways:
                row = {"batch_size": batch_size, "clients": clients, "via": via,
                       **load(url, texts, clients, args.seconds)}
                print(f"batch {batch_size:2d}, {clients:2d} clients, {via}: {row['requests_per_s']:6.1f} requests/s, "
                      f"p50 {row['p50_ms']:6.1f} ms, p99 {row['p99_ms']:6.1f} ms", flush=True)
                served.append(row)
        finally:
            server.stop()
    return served


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per concurrency level")
    parser.add_argument("--max-batch-delay", type=int, default=5, help="ms the server waits to fill a batch")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--write", action="store_true", help="store serving.json, serving.png and the README table")
    args = parser.parse_args(argv)
    print(describe())
    texts = headlines()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
        work = Path(folder)
        subprocess.run([sys.executable, "-m", "crepe", "train", "--dataset", "sample", "--epochs", "1",
                        "--max-batches", "2", "--out", str(work / "model"), "--cpu"], check=True,
                       stdout=subprocess.DEVNULL)
        single_ms, single_rate, batched = in_process(work / "model", texts)
        print(f"in-process: one text {single_ms:.1f} ms ({single_rate:.0f} texts/s one at a time), batches of "
              f"{BATCH}: {batched:.0f} texts/s", flush=True)
        served = measure(work / "model", texts, args, work)
    result = {"machine": describe(), "max_batch_delay_ms": args.max_batch_delay, "seconds": args.seconds,
              "in_process": {"single_ms": single_ms, "single_texts_per_s": single_rate,
                             "batched_texts_per_s": batched, "batch": BATCH},
              "served": served}
    result["targets"] = targets(single_ms, batched, served, single_rate)
    rows = [(r["batch_size"], r["clients"], r["via"], f"{r['requests_per_s']:.1f}", f"{r['p50_ms']:.1f}",
             f"{r['p99_ms']:.1f}") for r in served]
    text = (table(rows, ("batch size", "clients", "through", "requests/s", "p50 (ms)", "p99 (ms)")) + "\n\n"
            + f"In-process ceiling: one text {single_ms:.1f} ms ({single_rate:.0f} texts/s one at a time); batches of "
              f"{BATCH}: {batched:.0f} texts/s.\n\n"
            + table([(t["target"], t["measured"], {True: "met", False: "NOT met", None: ""}[t["met"]])
                     for t in result["targets"]],
                    ("target", "measured", "")))
    print(text)
    if args.write:
        from crepe.files import write_json

        write_json(HERE / "serving.json", result)
        plot(result, HERE / "serving.png")
        write_section("serving", f"{describe()}\n\nOne Python worker, max batch delay {args.max_batch_delay} ms, "
                      f"{args.seconds:g} s per level; clients in the same machine.\n\n{text}\n\n![latency and "
                      "throughput against concurrency](serving.png)\n")


if __name__ == "__main__":
    main()
