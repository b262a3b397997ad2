"""Learning curves on real text: how fast each model leaves chance and where it ends, in one run.

    python benchmarks/bench_learning.py [--data DIR] [--minutes 10] [--models ...] [--write]

``--data`` is a folder with ``train.csv``, ``test.csv`` and optionally ``classes.txt`` in the
project's CSV layout; by default ``$CREPE_DEV_DATA``, else ``../shared/data/ag_dev`` beside the
repository (real AG News rows kept outside it, for measuring only). When neither exists the run
uses the bundled, template-made sample and says so: it then proves the pipeline, not reading.

Training rows whose text also appears in ``test.csv`` are dropped first (ag_dev's test rows are
all in its train.csv), and 10 % of the rest is held out for validation. Every model then trains
with batches of 32 for the same wall-clock budget, one after another, on the same machine:

- ``tfidf``: word uni- and bigram TF-IDF + logistic regression (the paper's Table 4 baseline);
- ``word``: Kim's word CNN (``crepe.words.WordCNN``), workshop recipe;
- ``crepe-workshop``: Crepe small, the workshop architecture and recipe, trained on 512-column frames
  with words left out and typos (the CLI's default);
- ``crepe-workshop-plain``: the same without augmentation, to measure what augmentation adds;
- ``crepe-workshop-thesaurus``: the default plus the paper's thesaurus augmentation, with Debian's
  full MyThes thesaurus (``/usr/share/mythes/th_en_US_v2.dat``, package ``mythes-en-us``); skipped,
  and said so, when it is not installed;
- ``crepe-paper``: Crepe small exactly as in the paper, Adam 5e-4. None of the thirteen recipes
  in ``bench_paper_recipes.py`` leaves chance within 400 steps on ag_dev; this one did once, near
  step 1,400, and SGD 0.01 stays at chance longer.

Each network trains through ``crepe.fit`` with the workshop recipe and a time budget
(``TrainSettings.time_budget``: after 11 steps the run is planned to the steps that fit, so the
cosine decay ends where the run ends), or for ``--max-epochs`` epochs, whichever is shorter (the
word CNN takes a few milliseconds a step). Validation and test frames are always 1014 columns.
Validation accuracy is measured every ``--eval-every`` steps by a callback; evaluation time is not
counted as training time. ``--write`` stores the table in benchmarks/README.md and the plot beside it, and in
``learning.json`` the curves and, for the default, the training windows that most excite the
first-layer filters that vote most strongly for each class (notebook 04 shows them).
"""
import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


MODELS = ("tfidf", "word", "crepe-workshop", "crepe-workshop-plain", "crepe-workshop-thesaurus", "crepe-paper")
DEBIAN_THESAURUS = Path("/usr/share/mythes/th_en_US_v2.dat")
CHANCE_EXIT = 0.50


def default_data():
    return Path(os.environ.get("CREPE_DEV_DATA", HERE.parent.parent / "shared" / "data" / "ag_dev"))


def load(folder):
    """Train (deduplicated against test), validation and test rows, class names, and a description."""
    from crepe.data import load_dataset, split

    if (folder / "train.csv").is_file() and (folder / "test.csv").is_file():
        data = load_dataset(f"csv:{folder / 'train.csv'}")
        source = f"{folder} (real text; {data['overlap']} training rows also in test.csv dropped)"
    else:
        data = load_dataset("sample")
        source = f"the bundled sample ({folder} not found: template text, proves the pipeline only)"
    texts, labels = data["train"]
    keep, held = split(len(texts), 0.1, seed=0)
    pick = lambda idx: ([texts[i] for i in idx], labels[idx])
    return pick(keep), pick(held), data["test"], data["classes"], source


def run_tfidf(train, val, test):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    model = LogisticRegression(C=10, max_iter=1000).fit(vectoriser.fit_transform(train[0]), train[1])
    seconds = time.perf_counter() - started
    score = lambda rows: float((model.predict(vectoriser.transform(rows[0])) == rows[1]).mean())
    return {"curve": [(0, seconds, score(val))], "test": score(test), "seconds": seconds, "steps": None,
            "parameters": model.coef_.size + model.intercept_.size}


def build(kind, classes, train_texts):
    """The untrained network of a model name, through the families' registry, and its learning rate."""
    from crepe.families import FAMILIES, ModelSpec

    if kind == "word":
        return FAMILIES["word"].new(ModelSpec("word"), classes, train_texts), None
    arch = "paper" if kind == "crepe-paper" else "workshop"
    return FAMILIES["crepe"].new(ModelSpec("crepe", arch), classes, train_texts), (5e-4 if arch == "paper" else None)


def augmentation(kind):
    """The training transform of a model, and how the table names it."""
    from crepe.augment import Augmenter, Chain, default_augmentation, load_mythes

    if kind not in ("crepe-workshop", "crepe-workshop-thesaurus"):
        return None, "none"
    default = default_augmentation()
    words, typos = default.transforms
    name = f"words out {words.rate:g} + typos {typos.rate:g}"
    if kind == "crepe-workshop":
        return default, name
    return Chain(Augmenter(load_mythes(DEBIAN_THESAURUS)), default), f"thesaurus (Debian) + {name}"


def strongest_windows(net, texts, classes, per_class=2, k=3):
    """For the workshop head: the filters voting most for each class and their top training windows."""
    import numpy as np

    from crepe.explain import first_convolution, top_windows

    filters = first_convolution(net).weight.shape[0]                             # 256
    votes = net.classifier[1].weight.data().asnumpy()[:, :filters]               # (classes, 256)
    margin = votes - (votes.sum(axis=0) - votes) / (len(classes) - 1)
    windows = top_windows(net, texts, k=k)
    return [{"filter": int(f), "class": classes[c], "windows": [w for w, _ in windows[f]]}
            for c in range(len(classes)) for f in np.argsort(-margin[c])[:per_class]]


def curve_recorder(val_set, eval_every, budget, label):
    """A training callback: validation accuracy at a schedule of steps, as (step, seconds, accuracy), and a
    bar of training seconds. Every ``eval_every`` steps up to step 1,000, then every ``8 * eval_every``."""
    from tqdm import tqdm

    from crepe.callbacks import Callback
    from crepe.inference import evaluate

    class Recorder(Callback):
        def __init__(self):
            self.curve, self.bar = [], None

        def on_train_begin(self, loop):
            self.bar = tqdm(total=budget, desc=label, file=sys.stdout, mininterval=5,
                            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} training s")

        def point(self, loop):
            self.curve.append((loop.step, loop.training_seconds(), evaluate(loop.net, val_set)["accuracy"]))

        def on_step_end(self, loop, loss_sum, correct):
            seconds = loop.training_seconds()
            self.bar.update(max(0.0, min(seconds, budget) - self.bar.n))      # tqdm drops its total past 100 %
            if loop.step % (eval_every if loop.step <= 1000 else 8 * eval_every) == 0:
                self.point(loop)

        def on_train_end(self, loop):
            self.bar.close()
            if not self.curve or self.curve[-1][0] != loop.step:
                self.point(loop)

    return Recorder()


def run_network(kind, train, val, test, classes, minutes, eval_every, max_epochs, batch_size=32):
    """Train one network with ``crepe.fit`` for the time budget; its curve, test accuracy and size."""
    import mxnet as mx

    from crepe.families import hybridize, make_dataset
    from crepe.inference import evaluate
    from crepe.model import parameter_count
    from crepe.settings import TrainSettings
    from crepe.train import fit

    mx.random.seed(0)
    net, lr = build(kind, classes, train[0])
    transform, augment = augmentation(kind)
    train_set = make_dataset(net, *train, transform=transform, training=True)      # Crepe: 512 columns
    val_set, test_set = make_dataset(net, *val), make_dataset(net, *test)
    net.initialize()
    hybridize(net)
    settings = TrainSettings(lr=lr, batch_size=batch_size, epochs=max_epochs, time_budget=minutes * 60)
    recorder = curve_recorder(val_set, eval_every, minutes * 60, kind)
    history = fit(net, train_set, None, settings, [recorder])
    result = {"curve": recorder.curve, "test": evaluate(net, test_set)["accuracy"],
              "seconds": sum(entry["seconds"] for entry in history), "steps": recorder.curve[-1][0],
              "parameters": parameter_count(net), "augment": augment}
    if kind == "crepe-workshop":
        result["windows"] = strongest_windows(net, train[0], classes)
    return result


def first_step_at(curve, level):
    return next((step for step, _, accuracy in curve if accuracy >= level), None)


def accuracy_at(curve, step):
    return next((accuracy for s, _, accuracy in curve if s >= step), None)


def plot(results, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, result in results.items():
        steps, seconds, accuracy = zip(*result["curve"])
        if result["steps"] is None:                       # TF-IDF: one point, reached in seconds
            by_time.plot(seconds, accuracy, "k*", markersize=12, label=name)
            by_step.axhline(accuracy[0], color="black", linestyle=":", label=f"{name} (no steps)")
            continue
        by_step.plot(steps, accuracy, label=name)
        by_time.plot(seconds, accuracy, label=name)
    for ax, xlabel in ((by_step, "training steps (batches of 32)"), (by_time, "training seconds (2 CPU cores)")):
        ax.axhline(0.25, color="grey", linestyle="--", linewidth=1, label="chance (4 classes)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    by_step.set_xlim(0, 1000)
    by_step.set_title("against steps (first 1,000)")
    by_time.set_title("against seconds")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _fmt(value):
    return "-" if value is None else f"{value:.3f}"


def report(results, minutes):
    from benchmarks.machine import table

    rows = []
    for name, result in results.items():
        curve = result["curve"]
        rows.append((name, result.get("augment", "none"), f"{result['parameters']:,}", result["steps"] if result["steps"] is not None else "-",
                     f"{result['seconds']:.0f}",
                     (first_step_at(curve, CHANCE_EXIT) or "never") if result["steps"] is not None else "-",
                     _fmt(accuracy_at(curve, 150)) if result["steps"] else "-",
                     f"{max(a for _, _, a in curve):.3f}", f"{result['test']:.3f}"))
    text = table(rows, ("model", "augmentation", "parameters", "steps", "train s", f"steps to val >= {CHANCE_EXIT}",
                        "val at 150 steps", "best val", f"test after <= {minutes:g} min"))
    checks = []
    default, paper, tfidf = (results.get(name) for name in ("crepe-workshop", "crepe-paper", "tfidf"))
    if default:
        exit_step = first_step_at(default["curve"], CHANCE_EXIT)
        checks.append(("workshop Crepe leaves chance (val >= 0.50) within 150 steps", exit_step is not None
                       and exit_step <= 150, f"step {exit_step or 'never'}"))
        checks.append((f"workshop Crepe >= 0.82 test accuracy within {minutes:g} min", default["test"] >= 0.82,
                       f"{default['test']:.3f}"))
    if paper:
        exit_step = first_step_at(paper["curve"], CHANCE_EXIT)
        checks.append(("paper Crepe leaves chance within 400 steps", exit_step is not None and exit_step <= 400,
                       f"step {exit_step or 'never'}, test {paper['test']:.3f} after {minutes:g} min"))
    if default and tfidf:
        gap = tfidf["test"] - default["test"]
        checks.append(("stretch: workshop Crepe within 3 points of TF-IDF", gap <= 0.03, f"{100 * gap:.1f} points"))
    lines = [f"- {'met' if ok else 'NOT met'}: {what} ({detail})" for what, ok, detail in checks]
    return text + "\n\n" + "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per network (default 10)")
    parser.add_argument("--eval-every", type=int, default=25,
                        help="validation every N steps up to step 1,000, every 8N after (default 25)")
    parser.add_argument("--max-epochs", type=int, default=40,
                        help="stop a network earlier after this many epochs (default 40, the CLI's for the workshop Crepe)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--write", action="store_true", help="store the table and plot in benchmarks/")
    args = parser.parse_args()

    from benchmarks.machine import describe, write_section

    train, val, test, classes, source = load(args.data)
    header = (f"{describe()}\ndata: {source}: {len(train[0])} training, {len(val[0])} validation, "
              f"{len(test[0])} test rows")
    print(header)
    results = {}
    if "crepe-workshop-thesaurus" in args.models and not DEBIAN_THESAURUS.is_file():
        print(f"crepe-workshop-thesaurus skipped: {DEBIAN_THESAURUS} is not installed (apt install mythes-en-us)")
        args.models.remove("crepe-workshop-thesaurus")
    for name in args.models:
        results[name] = (run_tfidf(train, val, test) if name == "tfidf"
                         else run_network(name, train, val, test, classes, args.minutes, args.eval_every,
                                          args.max_epochs))
        print(f"{name}: test accuracy {results[name]['test']:.3f} after {results[name]['seconds']:.0f} s", flush=True)
    text = report(results, args.minutes)
    print(text)
    image = HERE / "learning.png"
    plot(results, image if args.write else Path("/tmp") / "learning.png", f"Learning on {args.data.name}")
    if args.write:
        import json

        write_section("Learning", f"{header}\n\n{text}\n\n![learning curves](learning.png)\n\n"
                                  "The curves themselves: `benchmarks/learning.json`.")
        curves = {name: {"test": r["test"], "steps": r["steps"], "seconds": round(r["seconds"], 1),
                         "augment": r.get("augment", "none"),
                         "curve": [(s, round(t, 1), round(a, 4)) for s, t, a in r["curve"]],
                         **({"windows": r["windows"]} if "windows" in r else {})}
                  for name, r in results.items()}
        (HERE / "learning.json").write_text(json.dumps({"machine": header, "results": curves}, indent=1) + "\n")
        print(f"wrote benchmarks/README.md, {image} and learning.json")


if __name__ == "__main__":
    main()
