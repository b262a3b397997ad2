"""Serving a trained model behind MXNet Model Server, with the live-demo page.

* :mod:`crepe.serving.archive`: ``python -m crepe package``, the ``.mar`` archive and its strict checks;
* :mod:`crepe.serving.handler`: what the server's Python workers run (imports the archive's checks,
  never the other way round);
* :mod:`crepe.serving.model_server`: the server as a child process, its management socket;
* :mod:`crepe.serving.page_server`: the page (``page/``), ``/ready`` and the forwarded predictions;
* :mod:`crepe.serving.serve`: ``python -m crepe serve``, which puts them together.

Nothing here is imported by ``import crepe``; MXNet is loaded only by what needs it.
"""
