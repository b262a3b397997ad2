"""Shared helpers for the test suite."""
import os

import numpy as np
import pytest

# Keep MXNet quiet and deterministic-ish in tests; these only affect logging and thread count.
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")


@pytest.fixture(scope="session")
def mx():
    """The mxnet module (imported once)."""
    import mxnet

    return mxnet
