"""The errors a user can act on: their data, or a model directory, is at fault.

The command line prints either as one sentence (``error: ...``) and exits with status 2.
"""

__all__ = ["DataError", "CheckpointError", "UsageError"]


class DataError(ValueError):
    """Input data that cannot be used; the message names the file and, where known, the line."""


class CheckpointError(RuntimeError):
    """A model directory or checkpoint that cannot be used; the message says which file and why."""


class UsageError(Exception):
    """A command-line mistake (a flag, a port, a missing program), reported in one sentence."""
