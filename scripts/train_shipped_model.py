"""Re-train the model that ships in models/workshop-crepe-ag-news, with one command.

    python scripts/train_shipped_model.py --data ../shared/data/ag_dev [--out models/workshop-crepe-ag-news]

``--data`` is a folder with ``train.csv`` and ``test.csv`` in AG News's layout (``"label","title
description"``, 1-based labels) and ``classes.txt``. The script

1. records the SHA-256 and row count of both files;
2. trains with the command line's default recipe, exactly ``python -m crepe train --dataset
   csv:DATA/train.csv --seed SEED --out RUN`` (the workshop Crepe, 40 epochs; about 10 minutes on 2 cores);
3. measures the best epoch on every row of ``test.csv`` with ``python -m crepe evaluate``;
4. writes the release (:mod:`crepe.release`): the best epoch's weights, ``config.json`` and a
   ``state.json`` with every digest and this provenance, renamed into ``--out`` when complete.

Every random draw is seeded. On one machine the same command gave byte-identical weights twice
(2026-12-03); another processor, thread count or MXNet build may add floats in another order, so
expect the same accuracy within a point or so there, not the same bytes.
"""
import argparse
import datetime
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from crepe.files import sha256_of
from crepe.readers import read_csv
from crepe.release import release

#: What the release record says of the data's terms.
TERMS = ("AG News (Zhang, Zhao & LeCun 2015, from AG's corpus of news articles) is distributed for research "
         "and teaching only; so is this model, trained on part of it.")


def describe(path):
    """Row count (parsed as training reads it: a quoted field may hold a newline) and SHA-256 of a CSV file."""
    texts, _, _ = read_csv(path)
    return {"file": Path(path).name, "rows": len(texts), "sha256": sha256_of(path)}


def run(command):
    """Run a command line of this Python, each line of its output shown as it comes; return the output."""
    print("$ python", " ".join(command), flush=True)
    lines = []
    with subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout:                     # one line per epoch: the run's progress
            print(line, end="", flush=True)
            lines.append(line)
    if process.returncode:
        raise SystemExit(f"error: python {' '.join(command)} exited with status {process.returncode}")
    return "".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train.csv, test.csv and classes.txt")
    parser.add_argument("--out", default="models/workshop-crepe-ag-news")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = Path(args.data)
    with tempfile.TemporaryDirectory(prefix="shipped-model-") as scratch:
        train = ["-m", "crepe", "train", "--dataset", f"csv:{data / 'train.csv'}", "--seed", str(args.seed),
                 "--out", f"{scratch}/run"]
        run(train)
        report = run(["-m", "crepe", "evaluate", "--model", f"{scratch}/run", "--dataset",
                      f"csv:{data / 'test.csv'}"])
        accuracy = float(re.search(r"^accuracy ([0-9.]+) on", report, re.MULTILINE).group(1))
        provenance = {
            "date": datetime.date.today().isoformat(),
            "command": " ".join(["python", *train[:-1], "RUN"]),
            "seed": args.seed,
            "data": {"train": describe(data / "train.csv"), "test": describe(data / "test.csv")},
            "test_accuracy": accuracy,
            "terms": TERMS,
        }
        release(f"{scratch}/run", args.out, provenance)
    print(f"released to {args.out}: accuracy {accuracy:.4f} on the {provenance['data']['test']['rows']} rows of "
          f"{data / 'test.csv'}")


if __name__ == "__main__":
    main()
