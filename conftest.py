"""nbval and notebook 07: its stored outputs come from a machine with Java, which MXNet Model Server needs.

This file sits at the top of the repository, outside the folders `make test` collects: a second
``conftest.py`` inside them would be imported for doctests under the same module name as
``tests/conftest.py`` (``--doctest-modules``), and the two would clash.

Without Java the notebook skips its server cells, so its outputs cannot match the stored ones. There its
cells (lesson and solutions) are skipped, saying why, before a kernel starts; under ``CI=true`` they fail
instead, as every test needing a system component does (tests/helpers.py ``require``).
"""
import pytest

from crepe.serving.model_server import JAVA_HINT
from tests.helpers import java_present, require

#: The notebooks whose stored outputs need a running model server.
NEED_JAVA = ("07_deploy.ipynb", "07_deploy_solutions.ipynb")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip (laptop) or fail (CI) a cell of a notebook in NEED_JAVA when Java is missing."""
    if item.path.name in NEED_JAVA and not java_present():
        require(False, f"Java is missing, so {item.path.name} cannot run its server cells: {JAVA_HINT}")
