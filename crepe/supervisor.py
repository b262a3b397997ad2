"""Old home of :func:`stop` and :class:`Process`, kept for ``crepe.model_server`` until serving imports
them from :mod:`crepe.processes`; a job's supervisor is :mod:`crepe.distributed.supervisor`."""
from .processes import Process, stop

__all__ = ["Process", "stop"]
