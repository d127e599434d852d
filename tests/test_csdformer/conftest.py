"""Fixtures for the CSDformer tests."""
import pytest

from csdformer_helpers import make_tiny_qann


@pytest.fixture(scope='module')
def tiny_qann():
    """``(model, images)``: a tiny initialised quantised CSDformer (float64, eval mode)."""
    return make_tiny_qann()
