"""The command line: ``python -m crepe train|evaluate|predict|export|doctor``.

User errors (a missing file, an unknown data set, a directory that is not a model ...) end with
one sentence on stderr and exit status 2; ``--debug`` shows the traceback instead.
"""
import argparse
import os
import signal
import sys
import traceback
from pathlib import Path

EXIT_USER_ERROR, EXIT_INTERRUPTED = 2, 130
#: Default epochs of the workshop Crepe: 40 epochs of ag_dev's 3,580 rows take about 9 minutes on 2 cores.
WORKSHOP_EPOCHS = 40


class UsageError(Exception):
    """A command-line mistake, reported in one sentence."""


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def _below_one(text):
    value = _rate(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 up to (not including) 1, got {text!r}")
    return value


def _rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m crepe", description="Crepe, the character-level CNN, "
                                     "for the CNNs-for-NLP workshop (MXNet/Gluon).")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dataset_help = "sample (bundled news, default), sentiment (bundled reviews), ag_news (downloaded and verified), amazon, or csv:PATH"
    train = commands.add_parser("train", help="train a model, with a checkpoint after every epoch")
    train.add_argument("--dataset", default="sample", help=dataset_help)
    train.add_argument("--model", choices=("crepe", "word"), default="crepe",
                       help="crepe: the character-level CNN (default); word: Kim's word-level CNN")
    train.add_argument("--arch", choices=("workshop", "paper"), default="workshop",
                       help="Crepe around its six convolutions: workshop (He initialisation, 128 maps per convolution "
                            "for small, max-over-time head over every convolution, dropout 0.2, trained on "
                            "512-column frames; default) or paper (Gaussian initialisation, flatten head, dropout 0.5)")
    train.add_argument("--size", choices=("small", "large"), default="small", help="the paper's two sizes")
    train.add_argument("--epochs", type=_positive(int),
                       help=f"default {WORKSHOP_EPOCHS} for the small workshop Crepe (a step costs little), 10 otherwise")
    train.add_argument("--batch-size", type=_positive(int), default=32)
    train.add_argument("--recipe", choices=("workshop", "paper"), default="workshop",
                       help="workshop: Adam with warm-up and cosine decay (learns in minutes on a CPU); "
                            "paper: SGD, halving every 3 epochs, as in the paper")
    train.add_argument("--lr", type=_positive(float), help="base learning rate (default: the recipe's)")
    train.add_argument("--out", type=Path, help="model directory (default runs/<dataset>-<size>)")
    train.add_argument("--resume", action="store_true", help="continue from the last completed epoch in --out "
                       "(refused if any setting differs from the recorded run)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    train.add_argument("--classes", type=_positive(int), metavar="N",
                       help="the model's number of classes, when some of them have no training rows on purpose")
    train.add_argument("--val-fraction", type=float, default=0.1,
                       help="share of the training data held out for validation (default 0.1)")
    train.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0)")
    train.add_argument("--max-batches", type=_positive(int), help="stop each epoch after this many batches")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--cpu", action="store_true", help="use the CPU even if a GPU is usable")
    train.add_argument("--augment", metavar="THESAURUS", type=Path,
                       help="thesaurus augmentation (the paper's Th. models) with a MyThes .dat file, e.g. "
                            "data/thesaurus/sample_th.dat or /usr/share/mythes/th_en_US_v2.dat")
    train.add_argument("--typos", type=_rate, metavar="RATE",
                       help="share of characters deleted or replaced at random, drawn afresh every epoch (default "
                            "0.1 for the workshop Crepe, 0 for the paper's and for the word CNN; 0 turns it off)")
    train.add_argument("--word-dropout", type=_below_one, metavar="RATE",
                       help="share of words left out at random, drawn afresh every epoch (default 0.2 for the "
                            "workshop Crepe, 0 otherwise; 0 turns it off)")
    train.add_argument("--amp", action="store_true", help="mixed precision (float16) on GPUs; refused on the CPU")

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix on a test set")
    evaluate.add_argument("--model", type=Path, required=True, help="model directory")
    evaluate.add_argument("--dataset", default="sample",
                          help="sample, sentiment, ag_news or amazon (their test split), or csv:FILE (every row of FILE)")
    evaluate.add_argument("--batch-size", type=_positive(int), default=256)

    predict = commands.add_parser("predict", help="classify texts given on the command line or in a file")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument("--file", type=Path, help="texts to classify: a .csv (text fields, label optional) or a "
                                                    "text file with one text per line")
    predict.add_argument("texts", nargs="*", metavar="TEXT")

    export = commands.add_parser("export", help="save the model in MXNet's symbolic format")
    export.add_argument("--model", type=Path, required=True, help="model directory")
    export.add_argument("--out", type=Path, help="file prefix (default <model>/exported/crepe)")

    commands.add_parser("doctor", help="check versions, GPUs and data before a workshop")
    return parser


def _contexts(cpu_only):
    import mxnet as mx

    from .devices import get_ctx

    return [mx.cpu()] if cpu_only else get_ctx()


def _new_model(args, classes, train_texts):
    """The untrained network the arguments ask for."""
    from .model import ARCHITECTURES, Crepe

    if args.model == "word":
        from .words import WordCNN, build_vocab

        vocab = build_vocab(train_texts)
        net = WordCNN(len(vocab), len(classes))
        net.vocab = vocab
        return net
    architecture = dict(ARCHITECTURES[args.arch])
    if args.size == "large":
        architecture.pop("filters", None)          # the workshop's narrower maps are for the small network
    return Crepe(len(classes), size=args.size, **architecture)


def _class_names(data, wanted):
    """The data set's class names, checked against its training labels (and ``--classes``)."""
    classes = list(data["classes"])
    labels = data["train"][1]
    if wanted is not None:
        if wanted < int(labels.max()) + 1:
            raise UsageError(f"--classes {wanted} is fewer than the labels need ({int(labels.max()) + 1})")
        return classes[:wanted] + [f"class {i + 1}" for i in range(len(classes), wanted)]
    empty = [name for index, name in enumerate(classes) if not (labels == index).any()]
    if empty:
        raise UsageError(f"no training rows for {len(empty)} of {len(classes)} classes ({', '.join(empty[:5])}"
                         f"{', ...' if len(empty) > 5 else ''}); fix the labels, or pass --classes "
                         f"{len(classes)} to train with them anyway")
    return classes


def _fill_defaults(args):
    """The defaults that depend on the model: the workshop Crepe trains longer, on noisier text.

    Examples
    --------
    >>> args = build_parser().parse_args(["train"]); _fill_defaults(args)
    >>> args.epochs, args.typos, args.word_dropout
    (40, 0.1, 0.2)
    >>> args = build_parser().parse_args(["train", "--model", "word"]); _fill_defaults(args)
    >>> args.epochs, args.typos, args.word_dropout
    (10, 0.0, 0.0)
    """
    from .augment import WORKSHOP_TYPO_RATE, WORKSHOP_WORD_DROPOUT

    workshop = args.model == "crepe" and args.arch == "workshop"
    if args.typos is None:
        args.typos = WORKSHOP_TYPO_RATE if workshop else 0.0
    if args.word_dropout is None:
        args.word_dropout = WORKSHOP_WORD_DROPOUT if workshop else 0.0
    if args.epochs is None:
        args.epochs = WORKSHOP_EPOCHS if workshop and args.size == "small" else 10


def _run_settings(args, train_length):
    """What config.json records about the run, to refuse a --resume that would mix two runs."""
    from .checkpoint import sha256_of

    settings = {"dataset": args.dataset, "val_fraction": args.val_fraction, "model": args.model,
                "augment": str(args.augment) if args.augment else None, "typos": args.typos,
                "word_dropout": args.word_dropout, "max_batches": args.max_batches, "train_length": train_length}
    if args.dataset.startswith("csv:") and Path(args.dataset[4:]).is_file():
        settings["dataset_sha256"] = sha256_of(args.dataset[4:])
    if args.augment and Path(args.augment).is_file():
        settings["augment_sha256"] = sha256_of(args.augment)
    return settings


def cmd_train(args):
    import mxnet as mx

    from .data import load_dataset, split
    from .train import evaluate, fit, make_dataset

    if not 0 < args.val_fraction < 1:
        raise UsageError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    name = args.model if args.model == "word" else f"{args.size}"
    out = args.out or Path("runs") / f"{args.dataset.replace(':', '-').replace('/', '_')}-{name}"
    data = load_dataset(args.dataset)
    if data.get("overlap"):
        print(f"dropped {data['overlap']} training rows whose text is also in the test file, so that the test "
              "accuracy measures unseen text")
    classes = _class_names(data, args.classes)
    texts, labels = data["train"]
    keep, held = split(len(texts), args.val_fraction, seed=args.seed)
    from .augment import Augmenter, Chain, Typos, WordDropout, load_mythes

    _fill_defaults(args)
    transforms = [Augmenter(load_mythes(args.augment), seed=args.seed)] if args.augment else []
    transforms += [WordDropout(args.word_dropout, seed=args.seed)] if args.word_dropout else []
    transforms += [Typos(args.typos, seed=args.seed)] if args.typos else []
    transform = Chain(*transforms) if transforms else None
    ctx = _contexts(args.cpu)
    if args.amp:
        if any(c.device_type != "gpu" for c in ctx):
            raise UsageError("--amp needs a GPU: mixed precision is for GPUs, and this run would use the CPU")
        from .train import enable_mixed_precision

        enable_mixed_precision()
    mx.random.seed(args.seed)
    net = _new_model(args, classes, [texts[i] for i in keep])
    train_set, batchify = make_dataset(net, [texts[i] for i in keep], labels[keep], transform=transform,
                                       seed=args.seed, training=True)
    train_length = getattr(train_set, "length", None)           # Crepe: 512 for the max-over-time head
    val_set, _ = make_dataset(net, [texts[i] for i in held], labels[held])
    net.initialize(ctx=ctx)
    net.hybridize(static_alloc=True, static_shape=args.model == "crepe")
    what = "word CNN" if args.model == "word" else f"Crepe {args.size} ({args.arch})"
    print(f"training {what} on {args.dataset}: {len(train_set)} training, {len(val_set)} validation "
          f"rows, {len(classes)} classes, checkpoints in {out}")
    fit(net, train_set, val_set, epochs=args.epochs, batch_size=args.batch_size, ctx=ctx, recipe=args.recipe,
        lr=args.lr, out_dir=out, classes=classes, resume=args.resume, seed=args.seed,
        num_workers=args.workers, max_batches=args.max_batches, batchify_fn=batchify, overwrite=args.overwrite,
        run=_run_settings(args, train_length))
    if data.get("test") is not None:
        result = evaluate(net, make_dataset(net, *data["test"])[0], ctx=ctx, batchify_fn=batchify)
        print(f"test accuracy (last epoch's weights): {result['accuracy']:.3f} on {result['count']} rows")
    print(f"saved in {out}; try: python -m crepe predict --model {out} \"some text\"")


def cmd_evaluate(args):
    from .data import load_evaluation_set
    from .train import evaluate, load_model, make_dataset

    net, config = load_model(args.model)
    data = load_evaluation_set(args.dataset)
    classes = config["classes"]
    if len(data["classes"]) != len(classes):
        raise UsageError(f"{args.dataset} has {len(data['classes'])} classes but the model has {len(classes)}")
    dataset, batchify = make_dataset(net, *data["rows"])
    result = evaluate(net, dataset, batch_size=args.batch_size, batchify_fn=batchify)
    print(f"accuracy {result['accuracy']:.4f} on {result['count']} rows of {args.dataset}")
    width = max(map(len, classes))
    print(f"{'class':<{width}}  precision  recall  rows")
    for name, p, r, n in zip(classes, result["precision"], result["recall"], result["confusion"].sum(axis=1)):
        print(f"{name:<{width}}  {p:9.3f}  {r:6.3f}  {n:4d}")
    if (result["confusion"].sum(axis=0) == 0).any():
        print("(precision 0.000 for a class the model never predicted)")
    print("confusion matrix (rows: true, columns: predicted):")
    print(result["confusion"])


def cmd_predict(args):
    from .data import read_inputs
    from .train import load_model, predict

    texts = list(args.texts) + (read_inputs(args.file) if args.file else [])
    if not texts:
        raise UsageError("nothing to classify: give texts on the command line or --file PATH")
    net, config = load_model(args.model)
    for text, result in zip(texts, predict(net, texts, config["classes"])):
        ranked = sorted(result.probabilities.items(), key=lambda item: -item[1])
        print(f"{result.label}\t" + ", ".join(f"{name} {p:.3f}" for name, p in ranked) + f"\t{text[:60]!r}")


def cmd_export(args):
    from .train import export, load_model

    net, config = load_model(args.model)
    symbol, params = export(net, args.out or args.model / "exported" / config["model"])
    print(f"exported {symbol} and {params}")


def cmd_doctor(args):
    from .doctor import run

    return run()


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    from .checkpoint import CheckpointError
    from .errors import DataError

    signal.signal(signal.SIGTERM, _terminate)      # a `kill` ends training like Ctrl-C: nothing half-written
    handler = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export,
               "doctor": cmd_doctor}[args.command]
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:                        # e.g. `python -m crepe evaluate ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, DataError, CheckpointError) as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
