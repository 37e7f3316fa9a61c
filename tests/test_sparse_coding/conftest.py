# Copyright (c) mmista contributors. All rights reserved.
import logging
import uuid

import numpy as np
import pytest
from mmengine.logging import MMLogger


class _Collect(logging.Handler):

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def mm_log():
    """Makes a fresh MMLogger current and collects what it logs."""
    logger = MMLogger.get_instance(
        f'test_sparse_coding_{uuid.uuid4().hex}', log_level='DEBUG')
    handler = _Collect()
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def _random_node_problems(rng: np.random.Generator, m: int = 7):
    """The 8 (A, b) pairs of one ISTA-NAS recovery, 2-sparse ground truth."""
    As, bs = [], []
    for _ in range(2):
        for j in range(4):
            n = (2 + j) * 7
            A = rng.random((m, n))
            z = np.zeros(n)
            z[rng.choice(n, 2, replace=False)] = rng.standard_normal(2)
            As.append(A)
            bs.append(A @ z + 1e-3 * rng.standard_normal(m))
    return As, bs


@pytest.fixture
def make_nodes():
    """A function that draws the 8 (A, b) pairs of a random recovery."""
    return _random_node_problems
