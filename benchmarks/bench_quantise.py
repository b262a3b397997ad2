"""Quantisation speed: crepe.encode against per-character Python loops, on the same texts.

    python benchmarks/bench_quantise.py [--docs N] [--repeat R]

Two baselines, both correct (lower-cased, last 1014 characters, backwards):
- the talk's approach: a Python loop over characters filling a float32 one-hot matrix (69, 1014)
  per document, which is what its network was fed;
- a stricter one: a Python loop producing the very uint8 index frame that encode produces.
Prints documents/s and ratios (goal: encode >= 50x the talk's loop), for AG-News-length texts
(~240 characters) and for full 1014-character texts.

Then the whole data path (TextDataset -> DataLoader with 0, 1 and 2 worker processes -> batches of
index frames) against the rate at which Crepe-small training consumes samples, measured in the same
run (goal: >= 5x). ``--write`` stores both tables in benchmarks/README.md.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.machine import describe, table, write_section  # noqa: E402
from crepe.quantise import ALPHABET, FRAME_LENGTH, encode, one_hot  # noqa: E402


def talk_loop_encode(texts, length=FRAME_LENGTH):
    """The talk's approach (with its bug fixed): a one-hot float32 matrix per text, filled in a loop."""
    lookup = {c: i for i, c in enumerate(ALPHABET)}
    frames = []
    for text in texts:
        one_hot = np.zeros((len(ALPHABET), length), dtype=np.float32)      # (69, 1014)
        for column, char in enumerate(reversed(text.lower()[-length:])):
            if char in lookup:
                one_hot[lookup[char], column] = 1.0
        frames.append(one_hot)
    return frames


def loop_encode(texts, length=FRAME_LENGTH):
    """The same output as encode, one dictionary lookup per character in Python."""
    lookup = {c: i for i, c in enumerate(ALPHABET, start=1)}
    out = np.zeros((len(texts), length), dtype=np.uint8)
    for row, text in enumerate(texts):
        text = text.lower()
        for column, char in enumerate(reversed(text[-length:])):
            out[row, column] = lookup.get(char, 0)
    return out


def make_texts(count, mean_length, seed=0):
    """Random texts over the alphabet in both cases, with spaces and a few non-ASCII characters."""
    rng = np.random.default_rng(seed)
    pool = np.array(list(ALPHABET + ALPHABET.upper()[:26] + "     \u00e9"))
    lengths = rng.integers(int(mean_length * 0.8), int(mean_length * 1.2) + 1, size=count)
    return ["".join(rng.choice(pool, size=n)) for n in lengths]


def best_time(function, texts, repeat):
    """Fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(texts)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents per measurement (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="take the best of this many runs (default 3)")
    parser.add_argument("--write", action="store_true", help="store the tables in benchmarks/README.md")
    args = parser.parse_args(argv)
    print(describe())
    rows = []
    for label, mean_length in (("AG-News length (~240 chars)", 240), ("full frame (1014 chars)", 1014)):
        texts = make_texts(args.docs, mean_length)
        frames = encode(texts)
        assert np.array_equal(frames, loop_encode(texts)), "encode and the loop disagree"
        assert np.array_equal(one_hot(frames[:50]), np.stack(talk_loop_encode(texts[:50])))
        fast = args.docs / best_time(encode, texts, args.repeat)
        same = args.docs / best_time(loop_encode, texts, args.repeat)
        talk = args.docs / best_time(talk_loop_encode, texts, args.repeat)
        rows.append((label, f"{talk:,.0f}", f"{same:,.0f}", f"{fast:,.0f}",
                     f"{fast / talk:.0f}x", f"{fast / same:.0f}x"))
    encoder = table(rows, ("texts", "talk's loop docs/s", "index loop docs/s", "crepe.encode docs/s",
                           "vs talk's loop (goal >= 50x)", "vs index loop"))
    print(encoder)
    path = data_path_table(make_texts(4096, 240))
    print(path)
    if args.write:
        write_section("quantisation", f"{describe()}\n\n{encoder}\n\n{path}")


def data_path_table(texts, batch=128):
    """Samples/s delivered by the DataLoader with 0, 1, 2 workers, against training's consumption."""
    from benchmarks.bench_training import run_variant
    from crepe.data import TextDataset, data_loader

    dataset = TextDataset(texts, [0] * len(texts))
    consumed = run_variant("mx-hybrid", batch, 3)
    rows = []
    for workers in (0, 1, 2):
        loader = data_loader(dataset, batch, shuffle=True, num_workers=workers)
        next(iter(loader))                                   # start the workers outside the timing
        start = time.perf_counter()
        count = sum(x.shape[0] for x, _ in loader)
        rate = count / (time.perf_counter() - start)
        rows.append((f"DataLoader, {workers} worker(s)", f"{rate:,.0f}", f"{rate / consumed:.0f}x"))
    rows.append(("Crepe-small training consumes (hybridised)", f"{consumed:,.0f}", "1x"))
    return table(rows, (f"data path, batch {batch}", "samples/s", "vs training (goal >= 5x)"))

if __name__ == "__main__":
    main()
