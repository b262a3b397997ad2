"""The package as a whole: lazy imports and the thread count, whatever the import order."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",)}
    environment.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)


def test_import_crepe_does_not_load_mxnet():
    result = python("import sys, crepe; print('mxnet' in sys.modules)")
    assert result.stdout.strip() == "False", result.stderr


def test_cli_help_does_not_load_mxnet():
    code = ("import sys, contextlib, io, crepe.cli\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    crepe.cli.main(['--help'])\n"
            "print('mxnet' in sys.modules)")
    result = python(code)
    assert result.stdout.strip() == "False", result.stderr


def test_crepe_attribute_loads_its_module_on_first_use():
    result = python("import sys, crepe; crepe.FRAME_LENGTH; print('crepe.quantise' in sys.modules, crepe.FRAME_LENGTH)")
    assert result.stdout.strip() == "True 1014", result.stderr


def test_use_all_cores_before_mxnet_sets_the_variable():
    result = python("import os, crepe; print(os.environ['OMP_NUM_THREADS'])")
    assert result.stdout.strip() == str(len(os.sched_getaffinity(0)))


def test_use_all_cores_after_mxnet_warns_with_the_fix():
    result = python("import warnings; warnings.simplefilter('always'); import mxnet, crepe")
    cores = len(os.sched_getaffinity(0))
    if cores == 1:
        assert "OMP_NUM_THREADS" not in result.stderr
    else:
        assert f"start Python with OMP_NUM_THREADS={cores}" in result.stderr


def test_use_all_cores_respects_a_users_setting():
    result = python("import os, crepe; print(os.environ['OMP_NUM_THREADS'])", OMP_NUM_THREADS="1")
    assert result.stdout.strip() == "1"


def test_make_setup_gives_the_kernel_the_thread_count():
    import json

    from tests.helpers import require

    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / "cnn-nlp-workshop" / "kernel.json"
    require(spec.is_file(), f"no workshop kernel in {sys.prefix} (tests not run through `make test`)")
    assert json.loads(spec.read_text())["env"]["OMP_NUM_THREADS"].isdigit()


def test_use_all_cores_after_mxnet_is_quiet_when_the_variable_was_inherited():
    result = python("import warnings; warnings.simplefilter('always'); import mxnet, crepe", OMP_NUM_THREADS="2")
    assert "OMP_NUM_THREADS" not in result.stderr
