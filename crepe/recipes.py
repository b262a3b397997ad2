"""Training recipes: the optimiser, its step size over the run, and the Gluon ``Trainer`` they make.

A recipe is a plain dict, so that ``config.json`` can record it: ``optimizer`` and ``lr``, optionally
``momentum`` and ``wd``, and the schedule (``halve_every``/``halvings``, or ``warmup_steps`` and
``decay``). :data:`RECIPES` names the two the command line offers.
"""
__all__ = ["RECIPES", "recipe_of", "learning_rate", "make_trainer"]

#: Training recipes by name. ``paper`` is the original's; ``workshop`` learns within a CPU budget
#: of minutes (benchmarks/README.md, "Learning", has the measurements behind it).
RECIPES = {
    "paper": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "wd": 1e-5, "halve_every": 3, "halvings": 10},
    "workshop": {"optimizer": "adam", "lr": 4e-3, "wd": 0.0, "warmup_steps": 20, "decay": "cosine"},
}


def recipe_of(recipe):
    """The recipe dict for a name in :data:`RECIPES`, or ``recipe`` itself when it is a dict already.

    Examples
    --------
    >>> recipe_of("paper")["optimizer"]
    'sgd'
    >>> recipe_of("fast")
    Traceback (most recent call last):
    ...
    ValueError: unknown recipe 'fast': use one of ['paper', 'workshop']
    """
    if isinstance(recipe, dict):
        return recipe
    if recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}: use one of {sorted(RECIPES)}")
    return RECIPES[recipe]


def learning_rate(recipe, step, total_steps, steps_per_epoch, base):
    """The recipe's learning rate for 0-based ``step`` of ``total_steps``.

    ``paper``: halved every ``halve_every`` epochs. ``workshop``: a linear warm-up over
    ``warmup_steps`` (or a quarter of a shorter run), then a cosine decay to zero at ``total_steps``.

    Examples
    --------
    >>> workshop = RECIPES["workshop"]
    >>> [round(learning_rate(workshop, s, 1000, 100, 4e-3), 6) for s in (0, 19, 510, 999)]
    [0.0002, 0.004, 0.002, 0.0]
    >>> learning_rate(RECIPES["paper"], 650, 3000, 100, 0.01)     # epoch 7: halved twice
    0.0025
    """
    import numpy as np

    if recipe.get("halve_every"):
        return base * 0.5 ** min(step // steps_per_epoch // recipe["halve_every"], recipe["halvings"])
    warm = min(recipe.get("warmup_steps", 0), total_steps // 4)       # a short run warms up for a quarter
    factor = min(1.0, (step + 1) / warm) if warm else 1.0
    if recipe.get("decay") == "cosine":
        progress = min(max(step - warm, 0) / max(total_steps - warm, 1), 1.0)
        factor *= 0.5 * (1 + np.cos(np.pi * progress))
    return base * factor


def make_trainer(params, recipe, lr, contexts, kvstore="device"):
    """A Gluon ``Trainer`` over ``params`` for ``recipe`` at base rate ``lr``.

    With several contexts the gradients are summed on a ``kvstore`` of that name (``device`` or
    ``local``); a distributed store (an ``mx.kv.KVStore`` from :func:`crepe.distributed.worker.join`) sums
    them across worker processes whatever the contexts. Updates always run on the workers
    (``update_on_kvstore=False``), so that the optimiser state stays where :mod:`crepe.optimizer_state`
    can save it, and the learning-rate schedule reaches the optimiser.
    """
    from mxnet import gluon

    options = {"learning_rate": lr, "wd": recipe.get("wd", 0.0)}
    if "momentum" in recipe:
        options["momentum"] = recipe["momentum"]
    if isinstance(kvstore, str) and len(contexts) == 1:
        kvstore = None                                  # one context in one process: nothing to sum
    return gluon.Trainer(params, recipe.get("optimizer", "adam"), options, kvstore=kvstore,
                         update_on_kvstore=False if kvstore else None)
