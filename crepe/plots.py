"""Pictures of a training run and of its evaluation (matplotlib, imported when first drawn)."""
import numpy as np

__all__ = ["plot_history", "plot_learning_curve", "plot_confusion"]


def plot_history(history, ax=None):
    """Training loss and accuracies per epoch, on one matplotlib axes (two y scales)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", color="tab:red", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    right = ax.twinx()
    right.plot(epochs, [h["train_accuracy"] for h in history], "s--", color="tab:blue", label="training accuracy")
    if history and history[0]["val_accuracy"] is not None:
        right.plot(epochs, [h["val_accuracy"] for h in history], "s-", color="tab:green", label="validation accuracy")
    right.set_ylim(0, 1)
    right.set_ylabel("accuracy")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    return ax


def plot_learning_curve(history, num_classes, ax=None, label="validation accuracy"):
    """Validation accuracy against training steps (``fit(..., eval_every=N)``), with the chance level."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    points = [point for entry in history for point in entry.get("curve", [])]
    if points:
        ax.plot(*zip(*points), "o-", markersize=3, label=label)
    ax.axhline(1 / num_classes, color="grey", linestyle="--", label=f"chance (1/{num_classes})")
    ax.set_xlabel("training step (one batch)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return ax


def plot_confusion(confusion, classes, ax=None):
    """The confusion matrix as a heat map with counts (rows: true class, columns: predicted)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4.5, 4))[1]
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = confusion.max() / 2 if confusion.size else 0
    for (row, col), value in np.ndenumerate(confusion):
        ax.text(col, row, str(value), ha="center", va="center", color="white" if value > threshold else "black")
    return ax
