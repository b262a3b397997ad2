"""How a run trains: one settings object for :func:`crepe.fit`, recorded in ``config.json``.

The fields are the run's choices (recipe, learning rate, batch, epochs, seed, augmentation, frame
length, time budget, workers, key-value store). ``config.json`` records all of them as :meth:`TrainSettings.record`
gives them, and ``--resume`` compares them field by field (:meth:`TrainSettings.resume_differences`),
except the few that cannot change what is learned. The command line takes its defaults from here.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Union

__all__ = ["TrainSettings"]


def _free(default):
    """A field that may change on ``--resume``: it cannot change what is learned."""
    return field(default=default, metadata={"resume": False})


@dataclass(frozen=True)
class TrainSettings:
    """The choices of one training run.

    Parameters
    ----------
    recipe : str or dict
        A name in :data:`crepe.recipes.RECIPES` (``"workshop"``, ``"paper"``), or a recipe of one's
        own in the same form (benchmarks compare several).
    lr : float, optional
        The base learning rate; None takes the recipe's.
    batch_size : int
        Rows per step (split across the network's contexts).
    epochs : int
        Total epochs; a resumed run continues up to this number.
    seed : int
        Fixes the data order, dropout and augmentation of every epoch, so a resumed run matches an
        unbroken one.
    typos, word_dropout : float
        Training augmentation: the share of characters mistyped and of words left out, drawn afresh
        each epoch (:mod:`crepe.augment`).
    thesaurus : str, optional
        A MyThes ``.dat`` file for the paper's synonym augmentation.
    train_length : int, optional
        Columns of a Crepe training frame; None: the network's (:func:`crepe.model.training_length`).
    max_batches : int, optional
        Stop each epoch after this many batches (quick runs and tests).
    time_budget : float, optional
        Seconds of training after which to stop: after 11 steps the run is shortened to the steps that
        fit (:class:`crepe.callbacks.TimeBudget`), so that the learning-rate schedule still ends where
        the run ends.
    eval_every : int, optional
        Also measure validation accuracy every this many steps (a learning curve per step).
    workers : int
        Worker processes that encode batches.
    amp : bool
        Mixed precision (float16 with loss scaling), on GPUs only.
    kvstore : str
        Where gradients are summed (:data:`crepe.distributed.worker.KVSTORES`): ``device`` or ``local`` across
        one process's contexts, ``dist_sync`` or ``dist_device_sync`` across the worker processes of a
        job started by ``python -m crepe launch``. ``batch_size`` is then the global batch, split
        between the workers. A resume needs the same number of workers, whatever the store.

    Examples
    --------
    >>> TrainSettings(epochs=2).record()["epochs"]
    2
    >>> TrainSettings(seed=1, epochs=5).resume_differences(TrainSettings(seed=0).record())
    ['seed: 0 -> 1']
    """
    recipe: Union[str, dict] = "workshop"
    lr: Optional[float] = None
    batch_size: int = 32
    epochs: int = _free(10)
    seed: int = 0
    typos: float = 0.0
    word_dropout: float = 0.0
    thesaurus: Optional[str] = None
    train_length: Optional[int] = None
    max_batches: Optional[int] = None
    time_budget: Optional[float] = None
    eval_every: Optional[int] = _free(None)
    workers: int = _free(0)
    amp: bool = False
    kvstore: str = _free("device")

    def record(self):
        """The settings as ``config.json`` stores them (a plain dict)."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def resume_differences(self, recorded):
        """``field: recorded -> now`` for each setting a resumed run may not change.

        A field missing from ``recorded`` (a run saved before the field existed) is not compared.
        """
        from .checkpoint import differences

        fixed = [f.name for f in dataclasses.fields(self) if f.metadata.get("resume", True) and f.name in recorded]
        return differences({name: recorded[name] for name in fixed}, {name: getattr(self, name) for name in fixed})
