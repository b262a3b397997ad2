"""Training on several workers over MXNet's parameter server, in four modules:

- :mod:`crepe.distributed.worker`: one worker of a run (its rank, its rows, its step, the comparison of
  the workers' weights), used by :func:`crepe.fit` when ``kvstore`` is ``dist_sync``;
- :mod:`crepe.distributed.launch`: ``python -m crepe launch``, which starts a job's scheduler, servers
  and workers, on this machine or over ssh;
- :mod:`crepe.distributed.supervisor`: watching those processes, their output and their failures;
- :mod:`crepe.distributed.dmlc`: MXNet's own ``dmlc_tracker`` mended for this Python
  (``python -m crepe.distributed.dmlc --cluster slurm ...``).

The process plumbing they share with ``serve`` is :mod:`crepe.processes`.
"""
