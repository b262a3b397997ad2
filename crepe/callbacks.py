"""What watches a training run: the progress bar, the line per epoch, checkpoints, the time budget.

A callback is a :class:`Callback` whose methods :func:`crepe.fit` calls at each moment of a run, each
given the :class:`crepe.train.Loop`: ``on_train_begin``, ``on_epoch_begin``, ``on_step_begin`` (the
step's learning rate is set), ``on_gradients`` (after the backward pass, before the update),
``on_step_end(loop, loss_sum, correct)``, ``on_epoch_end(loop, entry)``, ``on_train_end`` and
``on_interrupt``. Subclass it and override the moments you need. Work that is not training, such as
an evaluation, goes inside ``with loop.pause():`` so that its time is not counted as training time.
"""
import os
import sys
import time
from pathlib import Path

from . import checkpoint
from .distributed import worker as distributed
from .errors import CheckpointError
from .optimizer_state import load_optimizer
from .release import is_release

__all__ = ["Callback", "ProgressBar", "EpochLog", "TimeBudget", "ValidationCurve", "ModelDirectory", "console",
           "from_settings"]


class Callback:
    """Does nothing at every moment of a run; subclasses override the ones they care about."""

    def on_train_begin(self, loop):
        pass

    def on_epoch_begin(self, loop):
        pass

    def on_step_begin(self, loop):
        pass

    def on_gradients(self, loop):
        pass

    def on_step_end(self, loop, loss_sum, correct):
        pass

    def on_epoch_end(self, loop, entry):
        pass

    def on_train_end(self, loop):
        pass

    def on_interrupt(self, loop):
        pass


def _in_notebook():
    """Whether this runs in a Jupyter kernel, where a display updated in place replaces a text bar."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return type(shell).__name__ == "ZMQInteractiveShell"


def _terminal():
    """Whether a bar can be redrawn: stdout is a terminal, or ``crepe launch`` says its own is."""
    return os.environ.get("CREPE_PROGRESS") == "1" or sys.stdout.isatty()


class ProgressBar(Callback):
    """Batches done, running loss and samples/s of the epoch under way, redrawn at most every 2 s.

    In a terminal it is a tqdm bar that clears itself at the end of each epoch (into a pipe or a file,
    none: ``EpochLog`` has the line per epoch). In a notebook it is one display updated in place,
    emptied at the end, when one summary line for the whole run follows the epoch lines: a stored
    notebook keeps no fragments of it. Of several workers, only rank 0 shows one.
    """

    def __init__(self, every=10, interval=2.0):
        self.every, self.interval = every, interval
        self.bar = self.display = None
        self.drawn = 0.0

    @staticmethod
    def _stats(loop):
        """Running loss and speed of the epoch under way (reading the loss waits for the device)."""
        rate = loop.epoch_seen * loop.group.workers / max(time.perf_counter() - loop.epoch_started, 1e-9)
        return f"loss {loop.epoch_loss.asscalar() / max(loop.epoch_seen, 1):.3f}, {rate:.0f} samples/s"

    def _text(self, loop):
        done = loop.step - loop.epoch * loop.steps_per_epoch
        return f"epoch {loop.epoch + 1}/{loop.settings.epochs}: {done}/{loop.steps_per_epoch} batches, " \
            + self._stats(loop)

    def on_epoch_begin(self, loop):
        if loop.group.rank != 0:
            return
        if not _in_notebook():
            if not _terminal():
                return                                      # a pipe or a file: EpochLog's lines are enough
            from tqdm import tqdm

            self.bar = tqdm(total=loop.steps_per_epoch, desc=f"epoch {loop.epoch + 1}/{loop.settings.epochs}",
                            unit="batch", leave=False, file=sys.stdout, mininterval=self.interval)
        elif self.display is None:
            from IPython.display import Pretty, display

            self.display = display(Pretty(f"epoch {loop.epoch + 1}/{loop.settings.epochs}: starting"),
                                   display_id=True)

    def on_step_end(self, loop, loss_sum, correct):
        if self.bar is not None:
            self.bar.update(1)
        last = loop.step - loop.epoch * loop.steps_per_epoch == loop.steps_per_epoch
        if loop.step % self.every and not last:
            return                                          # reading the loss waits for the device
        now = time.perf_counter()
        if self.bar is not None:
            self.bar.set_postfix_str(self._stats(loop), refresh=False)
        elif self.display is not None and (now - self.drawn >= self.interval or last):
            from IPython.display import Pretty

            self.display.update(Pretty(self._text(loop)))
            self.drawn = now

    def on_epoch_end(self, loop, entry):
        self._close()

    def on_interrupt(self, loop):
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, loop):
        if self.display is not None:
            from IPython.display import Pretty, display

            epochs = loop.epoch - loop.first_step // loop.steps_per_epoch
            self.display.update(Pretty(""))                 # the live line goes; the summary comes last
            display(Pretty(f"trained {epochs} epoch(s), {loop.step - loop.first_step} steps, in {loop.seconds:.0f} s"))
            self.display = None


class EpochLog(Callback):
    """One line per epoch: loss, accuracies and speed; of several workers, also a digest of the weights,
    the same on every worker whose weights agree (:func:`crepe.distributed.worker.weights_digest`)."""

    def __init__(self, log=print):
        self.log = log

    def on_epoch_end(self, loop, entry):
        val = entry["val_accuracy"]
        digest = f", weights {distributed.weights_digest(loop.net)}" if loop.group.distributed else ""
        self.log(f"epoch {entry['epoch']}: loss {entry['train_loss']:.4f}, train accuracy "
                 f"{entry['train_accuracy']:.3f}" + (f", validation accuracy {val:.3f}" if val is not None else "")
                 + f", {entry['samples_per_s']:.0f} samples/s" + digest)


class TimeBudget(Callback):
    """Stop after ``seconds`` of training. The speed is measured over the ``probe_steps`` steps after the
    first (which builds the graph, and is slow), and the run is then shortened to the steps that fit, so
    that the learning-rate schedule still ends where the run ends. Should the steps then slow down (a
    machine that other work shares), the run ends as soon as a check every ``probe_steps`` steps finds
    the budget spent."""

    def __init__(self, seconds, probe_steps=10):
        self.budget, self.probe = seconds, probe_steps
        self.after_first = None

    def on_step_end(self, loop, loss_sum, correct):
        done = loop.step - loop.first_step
        if done != 1 and done % self.probe != 1:
            return
        loss_sum.wait_to_read()                             # the time of a step is known once it has run
        elapsed = loop.training_seconds()
        if done == 1:
            self.after_first = elapsed
        elif done == 1 + self.probe:
            per_step = (elapsed - self.after_first) / self.probe
            left = max(0, int((self.budget - elapsed) / max(per_step, 1e-9)))
            loop.total_steps = min(loop.total_steps, loop.step + left)
        elif elapsed >= self.budget:
            loop.total_steps = loop.step                    # spent: end here


class ValidationCurve(Callback):
    """Validation accuracy every ``every`` steps, into the epoch's ``curve`` (a learning curve per step)."""

    def __init__(self, every):
        self.every = every

    def on_step_end(self, loop, loss_sum, correct):
        from .inference import evaluate

        if loop.val_set is not None and loop.step % self.every == 0 and loop.group.rank == 0:
            with loop.pause():
                loop.curve.append((loop.step, evaluate(loop.net, loop.val_set, ctx=loop.contexts)["accuracy"]))


def from_settings(settings):
    """The callbacks that settings ask for (a time budget, a per-step curve), to run before any other."""
    return ([TimeBudget(settings.time_budget)] if settings.time_budget else []) + \
        ([ValidationCurve(settings.eval_every)] if settings.eval_every else [])


def console(log=print):
    """A progress bar and a line per epoch: what :func:`crepe.fit` shows unless told otherwise."""
    return [ProgressBar(), EpochLog(log)]


class ModelDirectory(Callback):
    """A checkpoint after every epoch in ``directory`` (:mod:`crepe.checkpoint`), and ``--resume``.

    Parameters
    ----------
    directory : str or Path
    classes : sequence of str, optional
        Class names, recorded in ``config.json`` (default "0", "1", ...).
    resume : bool
        Continue from the last committed epoch; refused if the model or the run's settings differ.
    overwrite : bool
        Replace a run already there (otherwise refused).
    run : dict, optional
        Further settings to record and compare on resume (the command line's data set, its digest
        and the validation fraction).
    log : callable

    Of several workers (:mod:`crepe.distributed.worker`) only rank 0 writes, after every worker has finished
    the epoch; every worker reads the directory to resume, so on several machines it is on a shared
    file system (or copied to each before ``--resume``).
    """

    def __init__(self, directory, classes=None, resume=False, overwrite=False, run=None, log=print):
        self.directory, self.classes = Path(directory), classes
        self.resume, self.overwrite, self.run, self.log = resume, overwrite, dict(run or {}), log
        self.best = (None, -1.0)

    def on_train_begin(self, loop):
        net = loop.net
        if self.resume:
            self._restore(loop)
            return
        if loop.group.rank != 0:
            return
        checkpoint.check_writable(self.directory)
        checkpoint.prepare_directory(self.directory, self.overwrite)
        classes = self.classes or [str(i) for i in range(net.num_classes)]
        workers = distributed.record(loop.group, loop.settings.batch_size)
        checkpoint.save_config(self.directory, net, classes, {**loop.settings.record(), "distributed": workers,
                                                              **self.run})

    def _check_same_run(self, loop, config):
        wanted = checkpoint.model_config(loop.net, config["classes"])
        changed = [key for key in wanted if key != "format" and config.get(key) != wanted[key]]
        if changed or len(config["classes"]) != loop.net.num_classes:
            raise CheckpointError(f"{self.directory} holds another model than this one (it differs in "
                                  f"{', '.join(changed) or 'the number of classes'}); train into a new directory")
        recorded = dict(config.get("run", {}))
        distributed.check_resume(self.directory, recorded.get("distributed"), loop.group)
        changed = loop.settings.resume_differences(recorded) + checkpoint.differences(
            {key: recorded.get(key) for key in self.run}, self.run)
        if changed:
            raise CheckpointError(f"{self.directory} was trained with other settings, so --resume would mix two "
                                  f"runs ({'; '.join(changed)}); resume with the same settings or use --overwrite")

    def _restore(self, loop):
        directory = self.directory
        if not (directory / "state.json").is_file():
            raise CheckpointError(f"nothing to resume in {directory}: no state.json")
        config = checkpoint.read_config(directory)
        if config["format"] < 2:
            raise CheckpointError(f"{directory} was written by an earlier version that stored the optimiser state "
                                  "as a pickle, which this version never reads; train again into a new directory")
        state = checkpoint.read_state(directory)
        if is_release(state):
            raise CheckpointError(f"{directory} is a released model: it keeps its best weights but no optimiser "
                                  "state, so it cannot be resumed; train into a new directory")
        self._check_same_run(loop, config)
        for name in (state["params"], state["states"]):
            checkpoint.verify(directory / name, state["sha256"].get(name))
        checkpoint.load_parameters(loop.net, directory / state["params"], loop.contexts)
        load_optimizer(loop.trainer, directory / state["states"], state.get("optimizer"))
        loop.history, loop.epoch = state["history"], state["epoch"]
        loop.step = loop.epoch * loop.steps_per_epoch
        self.best = (state.get("best"), state.get("best_accuracy", -1.0))
        self.log(f"resuming from {directory} after epoch {state['epoch']}")

    def on_epoch_end(self, loop, entry):
        distributed.barrier(loop.group)                      # every worker has finished the epoch
        if loop.group.rank != 0:
            return
        val = entry["val_accuracy"]
        if val is None or val > self.best[1]:                # this epoch becomes the best
            self.best = (None, val if val is not None else self.best[1])
        self.best = checkpoint.commit_epoch(self.directory, loop.net, loop.trainer, entry["epoch"], loop.history,
                                            self.best)

    def on_interrupt(self, loop):
        committed = None
        if (self.directory / "state.json").is_file():
            try:
                committed = checkpoint.read_state(self.directory)["epoch"]
            except CheckpointError:
                pass
        if committed == loop.epoch + 1:         # the signal came while this epoch was being committed
            self.log(f"interrupted after epoch {committed}: it is saved in {self.directory}")
        else:
            where = f"{self.directory}, epoch {committed}" if committed else "nowhere (no epoch completed)"
            self.log(f"interrupted during epoch {loop.epoch + 1}: the last completed epoch is saved in {where}")
