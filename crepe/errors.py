"""The error a user can act on when their data is at fault (checkpoint errors live in crepe.checkpoint)."""

__all__ = ["DataError"]


class DataError(ValueError):
    """Input data that cannot be used; the message names the file and, where known, the line."""
