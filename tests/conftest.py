"""Shared fixtures for the test suite."""
import os

import pytest

import crepe  # noqa: F401  (first, before any test module imports mxnet: it gives MXNet every core)

# Keep MXNet's subgraph-backend log lines out of the test output.
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")


@pytest.fixture(scope="session")
def mx():
    """The mxnet module (imported once)."""
    import mxnet

    return mxnet
