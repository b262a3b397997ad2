"""The command line: ``python -m crepe train|evaluate|predict|export|doctor``.

User errors (a missing file, an unknown data set, a directory that is not a model ...) end with
one sentence on stderr and exit status 2; ``--debug`` shows the traceback instead.
"""
import argparse
import importlib
import os
import signal
import sys
import traceback
from pathlib import Path

from .errors import UsageError

EXIT_USER_ERROR, EXIT_INTERRUPTED = 2, 130
#: What ``export --format`` writes.
EXPORT_FORMATS = ("mxnet", "onnx", "web")


# Commands that live in a module of their own: the module has HELP, ``add_arguments(parser)`` and
# ``run(args)``, and is imported only to build the parser (so it imports MXNet lazily, as this one does).
COMMAND_MODULES = {"package": "crepe.serving.archive", "serve": "crepe.serving.serve",
                   "launch": "crepe.distributed.launch"}


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


def _rate(below_one=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
        if not 0 <= value <= 1 or (below_one and value == 1):
            bound = "from 0 up to (not including) 1" if below_one else "between 0 and 1"
            raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}")
        return value
    return parse


def _add_train(commands):
    from .architectures import ARCHITECTURES, SIZES
    from .augment import WORKSHOP_TYPO_RATE, WORKSHOP_WORD_DROPOUT
    from .distributed.worker import KVSTORES
    from .families import FAMILIES, WORKSHOP_EPOCHS, ModelSpec
    from .recipes import RECIPES
    from .settings import TrainSettings

    defaults, spec = TrainSettings(), ModelSpec()
    train = commands.add_parser("train", help="train a model, with a checkpoint after every epoch")
    train.add_argument("--dataset", default="sample", help="sample (bundled news, default), sentiment (bundled "
                       "reviews), ag_news (downloaded and verified), amazon, or csv:PATH")
    train.add_argument("--model", choices=tuple(FAMILIES), default=spec.family,
                       help="crepe: the character-level CNN (default); word: Kim's word-level CNN")
    train.add_argument("--arch", choices=tuple(ARCHITECTURES), default=spec.arch,
                       help="Crepe around its six convolutions: workshop (He initialisation, 128 maps per convolution "
                            "for small, max-over-time head over every convolution, dropout 0.2, trained on "
                            "512-column frames; default) or paper (Gaussian initialisation, flatten head, dropout 0.5)")
    train.add_argument("--size", choices=tuple(SIZES), default=spec.size, help="the paper's two sizes")
    train.add_argument("--epochs", type=_positive(int), help=f"default {WORKSHOP_EPOCHS} for the small workshop "
                       f"Crepe (a step costs little), {defaults.epochs} otherwise")
    train.add_argument("--batch-size", type=_positive(int), default=defaults.batch_size)
    train.add_argument("--recipe", choices=tuple(RECIPES), default=defaults.recipe,
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
    train.add_argument("--workers", type=int, default=defaults.workers,
                       help=f"data-loading worker processes (default {defaults.workers})")
    train.add_argument("--max-batches", type=_positive(int), help="stop each epoch after this many batches")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--cpu", action="store_true", help="use the CPU even if a GPU is usable")
    train.add_argument("--augment", metavar="THESAURUS", type=Path,
                       help="thesaurus augmentation (the paper's Th. models) with a MyThes .dat file, e.g. "
                            "data/thesaurus/sample_th.dat or /usr/share/mythes/th_en_US_v2.dat")
    train.add_argument("--typos", type=_rate(), metavar="RATE",
                       help="share of characters deleted or replaced at random, drawn afresh every epoch (default "
                            f"{WORKSHOP_TYPO_RATE:g} for the workshop Crepe, 0 otherwise; 0 turns it off)")
    train.add_argument("--word-dropout", type=_rate(below_one=True), metavar="RATE",
                       help="share of words left out at random, drawn afresh every epoch (default "
                            f"{WORKSHOP_WORD_DROPOUT:g} for the workshop Crepe, 0 otherwise; 0 turns it off)")
    train.add_argument("--amp", action="store_true", help="mixed precision (float16) on GPUs; refused on the CPU")
    train.add_argument("--kvstore", choices=KVSTORES, default=defaults.kvstore,
                       help="where gradients are summed: device (default) or local within this process; dist_sync or "
                            "dist_device_sync as one worker of `python -m crepe launch` (--batch-size is then the "
                            "global batch)")


def build_parser():
    """The argument parser of every command; choices and defaults come from the modules that define them."""
    parser = argparse.ArgumentParser(prog="python -m crepe", description="Crepe, the character-level CNN, "
                                     "for the CNNs-for-NLP workshop (MXNet/Gluon).")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix on a test set")
    evaluate.add_argument("--model", type=Path, required=True, help="model directory")
    evaluate.add_argument("--dataset", default="sample",
                          help="sample, sentiment, ag_news or amazon (their test split), or csv:FILE (every row "
                               "of FILE)")
    evaluate.add_argument("--batch-size", type=_positive(int), default=256)

    predict = commands.add_parser("predict", help="classify texts given on the command line or in a file")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument("--file", type=Path, help="texts to classify: a .csv (text fields, label optional) or a "
                                                    "text file with one text per line")
    predict.add_argument("--json", action="store_true", help="one JSON object per text, as the model server "
                         "answers: {\"predicted\": CLASS, \"probabilities\": {CLASS: p, ...}}")
    predict.add_argument("texts", nargs="*", metavar="TEXT")

    export = commands.add_parser("export", help="save the model in MXNet's symbolic format, as ONNX, or as a "
                                 "static web demo that runs it in the browser")
    export.add_argument("--model", type=Path, required=True, help="model directory")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="mxnet",
                        help="mxnet: symbol and parameters (default); onnx: one .onnx file and its description "
                             "(.json) beside it; web: a self-contained static folder (needs Node and npm to build)")
    export.add_argument("--out", type=Path, help="mxnet: file prefix (default <model>/exported/<family>); onnx: "
                        "the .onnx file (default <model>/exported/<family>.onnx); web: the folder (required)")

    commands.add_parser("doctor", help="check versions, GPUs and data before a workshop")
    for name, module in COMMAND_MODULES.items():
        command = importlib.import_module(module)
        command.add_arguments(commands.add_parser(name, help=command.HELP))
    return parser


def _contexts(cpu_only):
    import mxnet as mx

    from .devices import get_ctx

    return [mx.cpu()] if cpu_only else get_ctx()


def _class_names(data, wanted, source):
    """The data set's class names, checked against its training labels (and ``--classes``)."""
    classes = list(data["classes"])
    labels = data["train"][1]
    if wanted is not None:
        if wanted < int(labels.max()) + 1:
            raise UsageError(f"--classes {wanted} is fewer than the labels of {source} need ({int(labels.max()) + 1})")
        return classes[:wanted] + [f"class {i + 1}" for i in range(len(classes), wanted)]
    empty = [name for index, name in enumerate(classes) if not (labels == index).any()]
    if empty:
        raise UsageError(f"{source} has no training rows for {len(empty)} of its {len(classes)} classes "
                         f"({', '.join(empty[:5])}{', ...' if len(empty) > 5 else ''}); fix the labels, or pass "
                         f"--classes {len(classes)} to train with them anyway")
    return classes


def model_spec(args):
    """The network the arguments ask for."""
    from .families import ModelSpec

    return ModelSpec(args.model, args.arch, args.size)


def train_settings(args):
    """The run's :class:`crepe.settings.TrainSettings`: the flags given, else the model family's defaults.

    Examples
    --------
    >>> s = train_settings(build_parser().parse_args(["train"])); s.epochs, s.typos, s.word_dropout
    (40, 0.1, 0.2)
    >>> s = train_settings(build_parser().parse_args(["train", "--model", "word"])); s.epochs, s.typos, s.word_dropout
    (10, 0.0, 0.0)
    """
    from .families import FAMILIES
    from .settings import TrainSettings

    defaults = FAMILIES[args.model].defaults(model_spec(args))
    given = {"epochs": args.epochs, "typos": args.typos, "word_dropout": args.word_dropout}
    chosen = {key: defaults[key] if value is None else value for key, value in given.items()}
    return TrainSettings(recipe=args.recipe, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
                         thesaurus=str(args.augment) if args.augment else None, max_batches=args.max_batches,
                         workers=args.workers, amp=args.amp, kvstore=args.kvstore, **chosen)


def run_record(args):
    """What config.json records about the data besides the settings, to refuse a --resume that would mix runs."""
    from .files import sha256_of

    record = {"dataset": args.dataset, "val_fraction": args.val_fraction}
    if args.dataset.startswith("csv:") and Path(args.dataset[4:]).is_file():
        record["dataset_sha256"] = sha256_of(args.dataset[4:])
    if args.augment and Path(args.augment).is_file():
        record["thesaurus_sha256"] = sha256_of(args.augment)
    return record


def _prepare_network(args, settings, classes, train_texts):
    """The untrained network on its contexts, seeded; mixed precision switched on first when asked."""
    import mxnet as mx

    from .families import FAMILIES, hybridize

    ctx = _contexts(args.cpu)
    if settings.amp:
        from .precision import enable_mixed_precision, require_gpus

        try:
            require_gpus(ctx)
        except ValueError:
            raise UsageError("--amp needs a GPU, and this run would use the CPU; train without --amp") from None
        enable_mixed_precision()
    mx.random.seed(settings.seed)
    net = FAMILIES[args.model].new(model_spec(args), classes, train_texts)
    net.initialize(ctx=ctx)
    return hybridize(net)


def _load_training_data(args):
    """(texts, labels, keep, held, test rows or None, class names) for ``args.dataset``."""
    from .data import load_dataset, split

    if not 0 < args.val_fraction < 1:
        raise UsageError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    data = load_dataset(args.dataset)
    if data.get("overlap"):
        print(f"dropped {data['overlap']} training rows whose text is also in the test file, so that the test "
              "accuracy measures unseen text")
    classes = _class_names(data, args.classes, data.get("source", args.dataset))
    texts, labels = data["train"]
    keep, held = split(len(texts), args.val_fraction, seed=args.seed)
    return (texts, labels), keep, held, data.get("test"), classes


def cmd_train(args):
    """Train the network the arguments describe into its model directory, then score the test split."""
    from .augment import from_settings
    from .callbacks import ModelDirectory, console
    from .distributed.worker import join
    from .families import family_of, make_dataset
    from .inference import evaluate
    from .train import contexts_of, fit

    settings = train_settings(args)
    group = join(settings.kvstore)                 # a worker of several joins first, and says so (its rank)
    (texts, labels), keep, held, test, classes = _load_training_data(args)
    pick = lambda rows: ([texts[i] for i in rows], labels[rows])                 # noqa: E731
    net = _prepare_network(args, settings, classes, pick(keep)[0])
    train_set = make_dataset(net, *pick(keep), transform=from_settings(settings), seed=settings.seed, training=True)
    val_set = make_dataset(net, *pick(held))
    name = args.model if args.model == "word" else args.size
    out = args.out or Path("runs") / f"{args.dataset.replace(':', '-').replace('/', '_')}-{name}"
    print(f"training {family_of(net).describe(net)} on {args.dataset}: {len(train_set)} training, {len(val_set)} "
          f"validation rows, {len(classes)} classes, checkpoints in {out}")
    directory = ModelDirectory(out, classes, resume=args.resume, overwrite=args.overwrite, run=run_record(args))
    fit(net, train_set, val_set, settings, [directory, *console(), *args.callbacks])
    if group.rank != 0:
        return                                     # rank 0 reports for every worker
    if test is not None:
        result = evaluate(net, make_dataset(net, *test), ctx=contexts_of(net))
        print(f"test accuracy (last epoch's weights): {result['accuracy']:.3f} on {result['count']} rows")
    print(f"saved in {out}; try: python -m crepe predict --model {out} \"some text\"")


def cmd_evaluate(args):
    """Score a model directory on a data set's test split (or every row of a CSV)."""
    from .data import load_evaluation_set
    from .families import make_dataset
    from .inference import evaluate, load_model

    net, config = load_model(args.model)
    data = load_evaluation_set(args.dataset)
    classes = config["classes"]
    if len(data["classes"]) != len(classes):
        raise UsageError(f"{args.dataset} has {len(data['classes'])} classes but the model has {len(classes)}")
    result = evaluate(net, make_dataset(net, *data["rows"]), batch_size=args.batch_size)
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
    """Classify texts from the command line or a file: the class, then every class's probability."""
    import json

    from .inference import answer, load_model, predict, probabilities
    from .readers import read_inputs

    texts = list(args.texts) + (read_inputs(args.file) if args.file else [])
    if not texts:
        raise UsageError("nothing to classify: give texts on the command line or --file PATH")
    net, config = load_model(args.model)
    if args.json:
        for row in probabilities(net, texts):
            print(json.dumps(answer(row, config["classes"])))
        return
    for text, result in zip(texts, predict(net, texts, config["classes"])):
        ranked = sorted(result.probabilities.items(), key=lambda item: -item[1])
        print(f"{result.label}\t" + ", ".join(f"{name} {p:.3f}" for name, p in ranked) + f"\t{text[:60]!r}")


def cmd_export(args):
    """Write the model in MXNet's symbolic format, as ONNX with its description, or as a static web demo."""
    from .inference import export, load_model

    if args.format == "web" and args.out is None:
        raise UsageError("--format web needs --out SITE, the folder to write the static demo into")
    net, config = load_model(args.model)
    if args.format == "mxnet":
        symbol, params = export(net, args.out or args.model / "exported" / config["model"])
        print(f"exported {symbol} and {params}")
    elif args.format == "onnx":
        from .onnx_export import write_onnx

        model, description = write_onnx(net, config, args.out or args.model / "exported" / f"{config['model']}.onnx")
        print(f"exported {model} (checked by onnx.checker) and its description {description}")
    else:
        from .web_export import write_site

        print(f"wrote the static demo in {write_site(net, config, args.out)}; serve that folder from any static "
              f"host, e.g. python -m http.server --directory {args.out}")


def cmd_doctor(args):
    """Check versions, GPUs and data before a workshop."""
    from .doctor import run

    return run()


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "export": cmd_export,
            "doctor": cmd_doctor}


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None, callbacks=()):
    """Run one command; ``callbacks`` are added to a ``train`` run's (tests watch training through them)."""
    args = build_parser().parse_args(argv)
    args.callbacks = tuple(callbacks)
    from .distributed.worker import DivergenceError
    from .errors import CheckpointError, DataError
    from .signals import STOPPING

    for signum in STOPPING[1:]:                    # `kill`, a closed terminal (SIGHUP): ended like Ctrl-C, nothing
        signal.signal(signum, _terminate)          # half-written, and `launch` or `serve` stop their processes
    signal.signal(signal.SIGINT, signal.default_int_handler)   # even when started with SIGINT ignored (`cmd &`)
    try:
        run = COMMANDS.get(args.command) or importlib.import_module(COMMAND_MODULES[args.command]).run
        status = run(args) or 0
        sys.stdout.flush()                         # a closed pipe shows here, not after main has returned
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:                        # e.g. `python -m crepe evaluate ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, DataError, CheckpointError, DivergenceError) as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
