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


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m crepe", description="Crepe, the character-level CNN, "
                                     "for the CNNs-for-NLP workshop (MXNet/Gluon).")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dataset_help = "sample (bundled, default), ag_news (downloaded and verified), amazon, or csv:PATH"
    train = commands.add_parser("train", help="train a model, with a checkpoint after every epoch")
    train.add_argument("--dataset", default="sample", help=dataset_help)
    train.add_argument("--size", choices=("small", "large"), default="small", help="the paper's two sizes")
    train.add_argument("--epochs", type=_positive(int), default=8,
                       help="default 8: on the sample, Crepe leaves chance level after about 250 steps")
    train.add_argument("--batch-size", type=_positive(int), default=32)
    train.add_argument("--recipe", choices=("workshop", "paper"), default="workshop",
                       help="workshop: Adam, learns in minutes on a CPU; paper: SGD as in the paper")
    train.add_argument("--lr", type=_positive(float), help="base learning rate (default: the recipe's)")
    train.add_argument("--out", type=Path, help="model directory (default runs/<dataset>-<size>)")
    train.add_argument("--resume", action="store_true", help="continue from the last completed epoch in --out")
    train.add_argument("--val-fraction", type=float, default=0.1,
                       help="share of the training data held out for validation (default 0.1)")
    train.add_argument("--workers", type=int, default=0, help="data-loading worker processes (default 0)")
    train.add_argument("--max-batches", type=_positive(int), help="stop each epoch after this many batches")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--cpu", action="store_true", help="use the CPU even if a GPU is usable")
    train.add_argument("--augment", metavar="THESAURUS", type=Path,
                       help="thesaurus augmentation (the paper's Th. models) with a MyThes .dat file, e.g. "
                            "data/thesaurus/sample_th.dat or /usr/share/mythes/th_en_US_v2.dat")
    train.add_argument("--amp", action="store_true", help="mixed precision (float16) on GPUs; refused on the CPU")

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix on a test set")
    evaluate.add_argument("--model", type=Path, required=True, help="model directory")
    evaluate.add_argument("--dataset", default="sample", help=dataset_help)
    evaluate.add_argument("--batch-size", type=_positive(int), default=256)

    predict = commands.add_parser("predict", help="classify texts given on the command line")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument("texts", nargs="+", metavar="TEXT")

    export = commands.add_parser("export", help="save the model in MXNet's symbolic format")
    export.add_argument("--model", type=Path, required=True, help="model directory")
    export.add_argument("--out", type=Path, help="file prefix (default <model>/exported/crepe)")

    commands.add_parser("doctor", help="check versions, GPUs and data before a workshop")
    return parser


def _contexts(cpu_only):
    import mxnet as mx

    from .devices import get_ctx

    return [mx.cpu()] if cpu_only else get_ctx()


def cmd_train(args):
    import mxnet as mx

    from .data import TextDataset, load_dataset, split
    from .model import Crepe
    from .train import fit, evaluate

    if not 0 < args.val_fraction < 1:
        raise UsageError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    out = args.out or Path("runs") / f"{args.dataset.replace(':', '-').replace('/', '_')}-{args.size}"
    data = load_dataset(args.dataset)
    texts, labels = data["train"]
    keep, held = split(len(texts), args.val_fraction, seed=args.seed)
    transform = None
    if args.augment:
        from .augment import Augmenter, load_mythes

        transform = Augmenter(load_mythes(args.augment), seed=args.seed)
    train_set = TextDataset([texts[i] for i in keep], labels[keep], transform=transform)
    val_set = TextDataset([texts[i] for i in held], labels[held])
    ctx = _contexts(args.cpu)
    if args.amp:
        if any(c.device_type != "gpu" for c in ctx):
            raise UsageError("--amp needs a GPU: mixed precision is for GPUs, and this run would use the CPU")
        from .train import enable_mixed_precision

        enable_mixed_precision()
    mx.random.seed(args.seed)
    net = Crepe(len(data["classes"]), size=args.size)
    net.initialize(ctx=ctx)
    net.hybridize(static_alloc=True, static_shape=True)
    print(f"training Crepe {args.size} on {args.dataset}: {len(train_set)} training, {len(val_set)} validation "
          f"rows, {len(data['classes'])} classes, checkpoints in {out}")
    fit(net, train_set, val_set, epochs=args.epochs, batch_size=args.batch_size, ctx=ctx, recipe=args.recipe,
        lr=args.lr, out_dir=out, classes=data["classes"], resume=args.resume, seed=args.seed,
        num_workers=args.workers, max_batches=args.max_batches)
    if data.get("test") is not None:
        result = evaluate(net, TextDataset(*data["test"]), ctx=ctx)
        print(f"test accuracy (last epoch's weights): {result['accuracy']:.3f} on {result['count']} rows")
    print(f"saved in {out}; try: python -m crepe predict --model {out} \"some text\"")


def cmd_evaluate(args):
    from .data import TextDataset, load_dataset
    from .train import evaluate, load_model

    net, config = load_model(args.model)
    data = load_dataset(args.dataset)
    if data.get("test") is None:
        raise UsageError(f"{args.dataset} has no test split")
    if len(data["classes"]) != len(config["classes"]):
        raise UsageError(f"{args.dataset} has {len(data['classes'])} classes but the model has {len(config['classes'])}")
    result = evaluate(net, TextDataset(*data["test"]), batch_size=args.batch_size)
    classes = config["classes"]
    print(f"accuracy {result['accuracy']:.4f} on {result['count']} rows")
    width = max(map(len, classes))
    print(f"{'class':<{width}}  precision  recall")
    for name, p, r in zip(classes, result["precision"], result["recall"]):
        print(f"{name:<{width}}  {p:9.3f}  {r:6.3f}")
    print("confusion matrix (rows: true, columns: predicted):")
    print(result["confusion"])


def cmd_predict(args):
    from .train import load_model, predict

    net, config = load_model(args.model)
    for text, result in zip(args.texts, predict(net, args.texts, config["classes"])):
        ranked = sorted(result.probabilities.items(), key=lambda item: -item[1])
        print(f"{result.label}\t" + ", ".join(f"{name} {p:.3f}" for name, p in ranked) + f"\t{text[:60]!r}")


def cmd_export(args):
    from .train import export, load_model

    net, _ = load_model(args.model)
    symbol, params = export(net, args.out or args.model / "exported" / "crepe")
    print(f"exported {symbol} and {params}")


def cmd_doctor(args):
    from .doctor import run

    return run()


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    from .data import DataError
    from .train import CheckpointError

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
