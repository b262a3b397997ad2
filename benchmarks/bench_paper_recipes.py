"""The paper's Crepe under many training recipes: does any leave chance within 400 steps?

    python benchmarks/bench_paper_recipes.py [--data DIR] [--steps 400] [--recipes ...] [--probe] [--write]

Issue #10 asks the paper's network, unchanged, to reach validation accuracy >= 0.50 within 400
steps of 32. This runs the network exactly as ``ARCHITECTURES["paper"]`` builds it (Gaussian
N(0, 0.05) initialisation, dropout 0.5, 1014-column frames) under each recipe in ``RECIPES``: only
the optimiser, step size, schedule, clipping, augmentation and extra training losses change. The
last recipe, ``he-adam-5e-4``, changes the initialisation and is there for comparison only.

Every run trains through ``crepe.fit``; a callback gives each recipe its extras (the step count, the
head-first phase, clipping) and records the rows, and the deep-supervision recipes pass their own
loss. Data and split are bench_learning's (``--data``, default ag_dev beside the repository; the
bundled sample otherwise). Validation every 50 steps; the training loss and accuracy in the table are the
means over the last 50 steps (chance: ln 4 = 1.386 and 0.25 for four classes). About 4 minutes a
recipe on 2 cores, 56 minutes for all of them with ``--probe``. ``--probe`` also measures why the network stalls: how well a logistic regression
reads its untrained features, and how many last-convolution outputs die in the first steps.
``--write`` stores the tables in benchmarks/README.md.
"""
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import crepe  # noqa: E402, F401  (sets OMP_NUM_THREADS before MXNet loads)
from crepe.recipes import learning_rate  # noqa: E402

#: name -> (what the table calls it, settings). Settings: optimiser and lr; optional warmup_steps and
#: decay, read by ``crepe.train.learning_rate`` (linear warm-up, for at most a quarter of the run;
#: "cosine" decays to 0 at the last step), clip (cap on the norm of the batch-mean gradient), augment,
#: head_first (steps training the output layer alone at head_lr), aux (weight of an auxiliary
#: max-over-time classifier's loss), init (default the paper's "gaussian").
RECIPES = {
    "sgd-0.01": ("SGD 0.01, momentum 0.9 (the paper's optimiser, without its halving every 3 epochs)",
                 {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}),
    "adam-1e-4": ("Adam 1e-4, 20-step warm-up, cosine decay", {"lr": 1e-4, "warmup_steps": 20, "decay": "cosine"}),
    "adam-2e-4": ("Adam 2e-4, 20-step warm-up, cosine decay", {"lr": 2e-4, "warmup_steps": 20, "decay": "cosine"}),
    "adam-5e-4": ("Adam 5e-4 (bench_learning's)", {"lr": 5e-4}),
    "adam-1e-3-warm": ("Adam 1e-3, 50-step warm-up", {"lr": 1e-3, "warmup_steps": 50}),
    "adam-3e-4-clip": ("Adam 3e-4, gradient norm clipped at 1", {"lr": 3e-4, "clip": 1.0}),
    "adam-5e-4-noise": ("Adam 5e-4, words out 0.2 + typos 0.1 (the workshop's augmentation)",
                        {"lr": 5e-4, "augment": True}),
    "rmsprop-1e-4": ("RMSProp 1e-4", {"optimizer": "rmsprop", "lr": 1e-4}),
    "lamb-2e-3": ("LAMB 2e-3 (a trust ratio per layer)", {"optimizer": "lamb", "lr": 2e-3}),
    "head-first-1e-4": ("output layer alone for 30 steps (Adam 1e-3), then all at Adam 1e-4",
                        {"lr": 1e-4, "head_first": 30, "head_lr": 1e-3}),
    "head-first-2e-4": ("output layer alone for 30 steps (Adam 1e-3), then all at Adam 2e-4",
                        {"lr": 2e-4, "head_first": 30, "head_lr": 1e-3}),
    "deep-supervision-5e-4": ("Adam 5e-4 + an auxiliary max-over-time classifier on all six convolutions, "
                              "its loss weighted 1 (dropped after training)", {"lr": 5e-4, "aux": 1.0}),
    "deep-supervision-1e-3": ("the same at Adam 1e-3, 20-step warm-up", {"lr": 1e-3, "warmup_steps": 20, "aux": 1.0}),
    "he-adam-5e-4": ("*for comparison, not the paper's network:* He initialisation, Adam 5e-4",
                     {"lr": 5e-4, "init": "he"}),
}
BATCH = 32
EVERY = 50


def deeply_supervised(classes):
    """The paper's Crepe with an auxiliary max-over-time classifier on all six convolutions, for training.

    It is a ``Crepe`` (so ``crepe.fit`` feeds it as one) whose forward pass, while training, also
    leaves the auxiliary logits in ``net.aux_logits`` for :func:`auxiliary_loss`; in prediction it
    returns the paper network's logits only. It is not hybridised: a cached graph cannot change with
    the training mode.
    """
    import mxnet as mx
    from mxnet import autograd
    from mxnet.gluon import nn

    from crepe.model import ARCHITECTURES, Crepe
    from crepe.quantise import NUM_CHARS

    class DeeplySupervised(Crepe):
        def __init__(self):
            super().__init__(classes, **ARCHITECTURES["paper"])
            with self.name_scope():
                self.aux = nn.Dense(classes, weight_initializer=mx.init.Normal(0.01))
            self.aux_logits = None

        def hybrid_forward(self, F, x):
            if not autograd.is_training():
                return super().hybrid_forward(F, x)                             # (N, classes)
            x = F.transpose(F.slice_axis(F.one_hot(x, depth=NUM_CHARS + 1), axis=2, begin=1, end=None),
                            axes=(0, 2, 1))                                     # (N, 69, 1014)
            maxima = []
            for layer in self.features:
                x = layer(x)
                if not isinstance(layer, (nn.MaxPool1D, nn.Flatten)):
                    maxima.append(F.max(x, axis=2))                             # (N, 256)
            self.aux_logits = self.aux(F.concat(*maxima, dim=1))               # (N, classes)
            return self.classifier(x)                                           # (N, classes)

    return DeeplySupervised()


class AuxiliaryLoss:
    """Cross-entropy of the logits plus ``weight`` times that of ``net.aux_logits``; keeps the main part."""

    def __init__(self, net, weight):
        from mxnet import gluon

        self.net, self.weight, self.cross_entropy = net, weight, gluon.loss.SoftmaxCrossEntropyLoss()
        self.main = None

    def __call__(self, logits, label):
        self.main = self.cross_entropy(logits, label)                           # (N,)
        return self.main + self.weight * self.cross_entropy(self.net.aux_logits, label)


def build(settings, classes):
    """The paper's Crepe (or the comparison's He-initialised one), initialised, and the loss to train it with."""
    from crepe.families import hybridize
    from crepe.model import ARCHITECTURES, Crepe

    if settings.get("aux"):
        net = deeply_supervised(classes)
        net.initialize()
        return net, AuxiliaryLoss(net, settings["aux"])
    net = Crepe(classes, **{**ARCHITECTURES["paper"], "init": settings.get("init", "gaussian")})
    net.initialize()
    return hybridize(net), None


def set_phase(trainer, params, output_layer, settings, step, steps):
    """Learning rate and per-parameter multipliers for ``step``: the output layer alone, or everything.

    During ``head_first`` the other layers get a multiplier of 0: they still receive gradients and
    Adam's moments keep moving, but their weights stay put.
    """
    head_only = step < settings.get("head_first", 0)
    for p in params:
        p.lr_mult = (settings["head_lr"] / settings["lr"] if p in output_layer else 0.0) if head_only else 1.0
    rate = settings["lr"] if head_only else learning_rate(settings, step, steps, None, settings["lr"])
    trainer.set_learning_rate(rate)


def recipe_callback(net, settings, steps, val_set, loss):
    """A ``crepe.fit`` callback that gives a recipe its extras and records the table's rows.

    It fixes the run at ``steps`` steps, sets the head-first phase before each step, clips the
    gradient norm before each update, and every ``EVERY`` steps appends (step, seconds, mean training
    loss, mean training accuracy, validation accuracy) to ``rows``.
    """
    import numpy as np
    from mxnet import gluon

    from crepe.callbacks import Callback
    from crepe.inference import evaluate

    class Recipe(Callback):
        def __init__(self):
            self.rows, self.losses, self.hits = [], [], []
            self.params = [p for p in net.collect_params().values() if p.grad_req != "null"]
            self.output_layer = set(net.classifier[-1].collect_params().values())

        def on_train_begin(self, loop):
            loop.total_steps = steps

        def on_step_begin(self, loop):
            set_phase(loop.trainer, self.params, self.output_layer, settings, loop.step, steps)

        def on_gradients(self, loop):
            if settings.get("clip"):          # gradients are batch sums: this caps the mean's norm
                gluon.utils.clip_global_norm([p.grad() for p in self.params], settings["clip"] * BATCH)

        def on_step_end(self, loop, loss_sum, correct):
            main = loss.main.sum() if loss is not None else loss_sum
            self.losses.append(main.asscalar() / BATCH)
            self.hits.append(correct.asscalar() / BATCH)
            if loop.step % EVERY == 0:
                self.rows.append((loop.step, loop.training_seconds(), float(np.mean(self.losses[-EVERY:])),
                                  float(np.mean(self.hits[-EVERY:])), evaluate(net, val_set)["accuracy"]))
                print(f"  step {loop.step}: training loss {self.rows[-1][2]:.3f}, validation {self.rows[-1][4]:.3f}",
                      flush=True)

    return Recipe()


def run(settings, train, val, classes, steps, seed=0):
    """Train for ``steps`` steps through ``crepe.fit``; rows (step, seconds, train loss, train accuracy, val)."""
    import mxnet as mx

    from crepe.augment import default_augmentation
    from crepe.families import make_dataset
    from crepe.settings import TrainSettings
    from crepe.train import fit

    mx.random.seed(seed)
    net, loss = build(settings, len(classes))
    transform = default_augmentation() if settings.get("augment") else None
    train_set = make_dataset(net, *train, transform=transform, training=True)       # 1014 columns
    val_set = make_dataset(net, *val)
    epochs = -(-steps // (len(train_set) // BATCH))                                  # enough for `steps`
    recipe = {"optimizer": "adam", **settings}
    callback = recipe_callback(net, settings, steps, val_set, loss)
    fit(net, train_set, None, TrainSettings(recipe=recipe, batch_size=BATCH, epochs=epochs, seed=seed), [callback],
        loss=loss)
    return callback.rows


def linear_probe(train, val, classes, init="gaussian"):
    """Validation accuracy of a logistic regression on the untrained network's flattened features."""
    import mxnet as mx
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from crepe.families import make_dataset
    from crepe.model import ARCHITECTURES, Crepe
    from crepe.quantise import one_hot

    mx.random.seed(0)
    net = Crepe(len(classes), **{**ARCHITECTURES["paper"], "init": init})
    net.initialize()

    def features(rows):
        frames = make_dataset(net, *rows)
        out = []
        for start in range(0, len(frames), 64):
            x = mx.nd.array(one_hot([frames[i][0] for i in range(start, min(start + 64, len(frames)))]))
            out.append(net.features(x).asnumpy())                                            # (64, 8704)
        return np.concatenate(out)

    seen, unseen = features(train), features(val)
    mean, std = seen.mean(axis=0), seen.std(axis=0) + 1e-6
    model = LogisticRegression(C=0.01, max_iter=300).fit((seen - mean) / std, train[1])
    return float((model.predict((unseen - mean) / std) == val[1]).mean())


def dead_share(net, frames):
    """Share of the last convolution's outputs (map x position) that are zero for every text in ``frames``.

    Positions, not whole maps: a map silent where the texts are but alive over the padding counts in part.
    """
    import mxnet as mx
    from mxnet.gluon import nn

    from crepe.quantise import one_hot

    x = mx.nd.array(one_hot(frames))                                                         # (N, 69, 1014)
    last = None
    for layer in net.features:
        x = layer(x)
        if not isinstance(layer, (nn.MaxPool1D, nn.Flatten)):
            last = x                                                                         # (N, 256, 102)
    return float((last.max(axis=0) <= 0).mean().asscalar())


def dying(train, classes, lr, steps=(0, 50, 100)):
    """``dead_share`` on 64 training texts after each of ``steps`` steps of Adam at ``lr`` (through ``crepe.fit``)."""
    import mxnet as mx

    from crepe.callbacks import Callback
    from crepe.families import make_dataset
    from crepe.settings import TrainSettings
    from crepe.train import fit

    mx.random.seed(0)
    net, _ = build({"lr": lr}, len(classes))
    frames = make_dataset(net, *train, training=True)
    watched = [frames[i][0] for i in range(64)]                                            # 64 x (1014,)
    shares = {}

    class Watch(Callback):
        def on_train_begin(self, loop):
            loop.total_steps = max(steps)
            shares[0] = dead_share(net, watched)

        def on_step_end(self, loop, loss_sum, correct):
            if loop.step in steps:
                shares[loop.step] = dead_share(net, watched)

    epochs = -(-max(steps) // (len(frames) // BATCH))
    fit(net, frames, None, TrainSettings(recipe={"optimizer": "adam", "lr": lr}, batch_size=BATCH, epochs=epochs),
        [Watch()])
    return {step: shares[step] for step in steps}


def report(results):
    """A markdown table, one row per recipe, from ``{name: (caption, rows of run())}``."""
    from benchmarks.machine import table

    rows = []
    for name, (caption, curve) in results.items():
        exit_step = next((s for s, *_, v in curve if v >= 0.5), None)
        rows.append((caption, f"{max(v for *_, v in curve):.3f}", exit_step or "never",
                     f"{curve[-1][2]:.3f}", f"{curve[-1][3]:.3f}", f"{curve[-1][1]:.0f}"))
    return table(rows, ("recipe", "best validation", "first validation >= 0.50", f"training loss, last {EVERY} steps",
                        f"training accuracy, last {EVERY} steps", "training s"))


def main():
    from benchmarks.bench_learning import default_data, load
    from benchmarks.machine import describe, write_section

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=list(RECIPES))
    parser.add_argument("--probe", action="store_true", help="also measure untrained features and dying units")
    parser.add_argument("--write", action="store_true", help="store the tables in benchmarks/README.md")
    args = parser.parse_args()

    train, val, test, classes, source = load(args.data)
    header = f"{describe()}\ndata: {source}: {len(train[0])} training, {len(val[0])} validation rows"
    print(header)
    results = {}
    for name in args.recipes:
        caption, settings = RECIPES[name]
        print(f"{name}: {caption}", flush=True)
        results[name] = (caption, run(settings, train, val, classes, args.steps))
    text = f"{header}, {args.steps} steps of {BATCH}\n\n{report(results)}"
    if args.probe:
        probes = [("logistic regression on the untrained paper network's 8,704 features (validation)",
                   f"{linear_probe(train, val, classes):.3f}"),
                  ("the same with He initialisation", f"{linear_probe(train, val, classes, 'he'):.3f}")]
        for lr in (5e-4, 1e-4):
            shares = dying(train, classes, lr)
            probes.append((f"dead last-convolution outputs, Adam {lr:g}, after steps " + ", ".join(map(str, shares)),
                           ", ".join(f"{v:.2f}" for v in shares.values())))
        from benchmarks.machine import table

        text += "\n\n" + table(probes, ("probe", "value"))
    print(text)
    if args.write:
        write_section("Paper recipes", text)
        print("wrote benchmarks/README.md")


if __name__ == "__main__":
    main()
