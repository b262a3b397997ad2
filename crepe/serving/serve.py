"""``python -m crepe serve --model DIR|FILE.mar``: the model behind MXNet Model Server, and the demo page.

It packages the model (or takes a strictly checked archive, optionally pinned with ``--sha256``),
writes the server's configuration into a private run folder (0700) of its own, starts the server
(:mod:`crepe.serving.model_server`; its management API is a Unix socket in that folder), registers the model
with batching through that socket, waits until a worker is ready, starts the page server
(:mod:`crepe.serving.page_server`: the page, ``/ready``, and ``POST /predictions/<name>`` forwarded) and
only then prints::

    predictions: http://127.0.0.1:8080/predictions/crepe
    demo page: http://127.0.0.1:8082/
    readiness: http://127.0.0.1:8082/ready (the page's port also forwards /predictions/crepe)
    in this browser: the page also runs the model itself (ONNX, onnxruntime-web 1.30.0)

The page answers twice, side by side: on the server, and in the browser with the same weights exported to
ONNX (:func:`browser_panel`). That needs a Crepe and the onnxruntime-web files (``npm ci`` in ``web/``);
without them the line ``in this browser:`` says why the page answers on the server only.

It stays in the foreground until Ctrl-C or SIGTERM, then stops the server, its workers and the page
server, and removes its temporary files (the unpacked model, sockets, the archive it made); the
configuration and the logs stay in the run folder, whose path it prints. Even a ``kill -9`` leaves no
process behind: the server's processes run under a group keeper (:func:`crepe.processes.group_keeper`).

``--log-to-console`` sends the server's log lines (its frontend's, the workers', one per request) to
this program's output instead of files in the run folder: what a container's log shows.
"""
import shutil
import signal
import tempfile
import time
import zipfile
from pathlib import Path

from ..errors import UsageError

__all__ = ["settings_of", "prepare_archive", "page_config", "browser_panel", "serve"]

HELP = "serve a model behind MXNet Model Server, with the live-demo page"


def add_arguments(parser):
    from ..cli import _positive
    from .model_server import ServeSettings

    defaults = ServeSettings()
    parser.add_argument("--model", type=Path, required=True, help="a model directory, or an archive from "
                        "`python -m crepe package`")
    parser.add_argument("--name", help="the model's name in the URLs (default: crepe or word)")
    parser.add_argument("--host", default=defaults.host, help="where the predictions API and the page listen "
                        "(default 127.0.0.1; 0.0.0.0 in a container); the management API is a Unix socket in the "
                        "run folder")
    parser.add_argument("--port", type=_positive(int), default=defaults.port, help="the predictions API's port "
                        "(default 8080); the demo page takes --port + 2")
    parser.add_argument("--page-port", type=_positive(int), help="the demo page's port (default: --port + 2)")
    parser.add_argument("--batch-size", type=_positive(int), default=defaults.batch_size,
                        help=f"requests answered by one forward pass at most (default {defaults.batch_size})")
    parser.add_argument("--max-batch-delay", type=_positive(int), default=defaults.max_batch_delay, metavar="MS",
                        help=f"milliseconds to wait for a batch to fill (default {defaults.max_batch_delay})")
    parser.add_argument("--workers", type=_positive(int), default=defaults.workers,
                        help="Python worker processes (default 1); each gets cores / workers threads")
    parser.add_argument("--sha256", metavar="HEX", help="serve the archive only if the whole file has this SHA-256 "
                        "(its digests inside give integrity, not authenticity)")
    parser.add_argument("--log-to-console", action="store_true", help="the server's log lines (its frontend, "
                        "the model's workers, each request) to this program's output, not to files in the run "
                        "folder (in a container: `podman logs`)")
    parser.add_argument("--run-dir", type=Path, help="the run folder for configuration and logs (default: a new "
                        "folder in the system's temporary directory)")


def settings_of(args):
    """The :class:`crepe.serving.model_server.ServeSettings` the arguments ask for."""
    from .model_server import ServeSettings

    return ServeSettings(host=args.host, port=args.port, page_port=args.page_port, batch_size=args.batch_size,
                         max_batch_delay=args.max_batch_delay, workers=args.workers)


def prepare_archive(model, store, name=None, sha256=None):
    """(archive in ``store``, its description, model name): a model directory is packaged, an archive checked.

    The copy in ``store`` (which only this user can reach) is the one checked, strictly
    (:func:`crepe.serving.archive.check_archive`), and then the one the server loads; ``sha256`` pins it.

    Raises
    ------
    CheckpointError
        For a damaged model directory or archive, in one sentence.
    """
    from .archive import check_archive, package

    model = Path(model)
    store.mkdir(parents=True, exist_ok=True)
    if sha256 is not None and not model.is_file():
        raise UsageError(f"--sha256 pins an archive (.mar), and {model} is not one")
    if model.is_dir():
        from ..checkpoint import read_config

        name = name or read_config(model)["model"]
        archive = package(model, store / f"{name}.mar", name)
    elif model.suffix == ".mar" and model.is_file():
        name = name or model.stem
        archive = store / f"{name}.mar"
        shutil.copyfile(model, archive)
    else:
        raise UsageError(f"{model}: neither a model directory nor a .mar archive")
    return archive, check_archive(archive, sha256), name


def page_config(description, name):
    """What the demo page reads as ``config.json``: it POSTs to ``/predictions/<name>`` on its own origin.

    Examples
    --------
    >>> page_config({"family": "crepe", "classes": ["a", "b"], "examples": ["x"]}, "crepe")
    {'predictions': '/predictions/crepe', 'model': 'crepe', 'classes': ['a', 'b'], 'examples': ['x']}
    """
    return {"predictions": f"/predictions/{name}", "model": description["family"], "classes": description["classes"],
            "examples": list(description.get("examples", []))}


def browser_panel(archive, scratch):
    """What the page needs to answer in the browser too: (documents, keys for its config, the line to print).

    The network is rebuilt from the checked ``archive`` (unpacked into ``scratch``, removed after), so the
    browser runs the very weights the server runs.

    Returns
    -------
    (dict, dict, str)
        ``extra`` documents and config keys for :func:`crepe.serving.page_server.start_page_server`; both
        empty when the browser cannot run this model, and then the line says why in one sentence.

    Examples
    --------
    >>> browser_panel(Path("no-such.mar"), Path("no-such-folder"))[2]
    'in this browser: not offered, no-such.mar cannot be read'
    """
    from ..web_export import browser_documents, ort_directory, pinned_version
    from .archive import load_archived_model

    unpacked = Path(scratch) / "browser-model"
    try:
        with zipfile.ZipFile(archive) as packed:
            packed.extractall(unpacked)             # the archive was checked; extractall keeps names inside
        ort_directory()                             # before MXNet loads anything: most often what is missing
        documents, keys = browser_documents(*load_archived_model(unpacked))
    except UsageError as error:
        return {}, {}, f"in this browser: not offered, {error}"
    except ImportError as error:                    # a serving-only installation: no onnx
        return {}, {}, f"in this browser: not offered, the Python package {error.name} is not installed"
    except (OSError, zipfile.BadZipFile):
        return {}, {}, f"in this browser: not offered, {archive} cannot be read"
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)
    return documents, keys, f"in this browser: the page also runs the model itself (ONNX, onnxruntime-web " \
                            f"{pinned_version()})"


def _wait(server):
    """Until Ctrl-C or SIGTERM (KeyboardInterrupt), or the server dies."""
    while server.alive():
        time.sleep(0.5)
    raise UsageError(f"the model server stopped by itself (status {server.process.code()}); see "
                     f"{server.output}")


def _ignore_signals():
    """Ignore Ctrl-C and SIGTERM; returns what restores the handlers before."""
    before = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    return lambda: [signal.signal(number, handler) for number, handler in before.items()]


def _say(line):
    print(line, flush=True)                         # whoever reads a pipe sees it now, not at exit


def serve(model, settings, run_dir=None, name=None, ready=_say, sha256=None, console=False):
    """Serve ``model`` until interrupted; ``ready(line)`` receives the URL lines (tests watch them).

    ``console``: the server's log lines to stdout rather than to files in the run folder's ``logs/``.
    """
    from .model_server import ModelServer, check_port, find_java
    from .page_server import start_page_server

    find_java()
    inference, page = settings.ports
    check_port(settings.host, inference, "the predictions API")
    check_port(settings.host, page, "the demo page", "--page-port" if settings.page_port else "--port or --page-port")
    run_dir = Path(run_dir or tempfile.mkdtemp(prefix="crepe-serve-"))          # mkdtemp: 0700
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    run_dir.chmod(0o700)                        # only this user may reach the management socket inside
    server, page_server = ModelServer(run_dir, settings, console), None
    host = settings.public_host
    try:
        archive, description, name = prepare_archive(model, run_dir / "model-store", name, sha256)
        server.start()
        server.wait_until_up()
        server.register(name, archive)
        extra, keys, browser_line = browser_panel(archive, run_dir / "tmp")
        server.wait_until_ready(name)
        page_server, _ = start_page_server({**page_config(description, name), **keys}, settings.host, page,
                                           server.address, lambda: server.management.ready_workers(name) > 0,
                                           extra=extra)
        ready(f"predictions: http://{host}:{inference}/predictions/{name}")
        ready(f"demo page: http://{host}:{page}/")
        ready(f"readiness: http://{host}:{page}/ready (the page's port also forwards /predictions/{name})")
        ready(browser_line)
        ready(f"(run folder {run_dir}; Ctrl-C stops)")
        _wait(server)
    except KeyboardInterrupt:
        pass
    finally:
        restore = _ignore_signals()                 # a second Ctrl-C must not cut the clean-up short
        if page_server is not None:
            page_server.shutdown()
        server.stop()
        for temporary in ("tmp", "model-store"):
            shutil.rmtree(run_dir / temporary, ignore_errors=True)
        restore()
    print(f"stopped; the server's logs are in {run_dir / 'logs'}")


def run(args):
    run_dir = args.run_dir
    if run_dir is not None and run_dir.exists() and any(run_dir.iterdir()):
        raise UsageError(f"--run-dir {run_dir} is not empty; give a new or empty folder")
    serve(args.model, settings_of(args), run_dir, args.name, sha256=args.sha256, console=args.log_to_console)
