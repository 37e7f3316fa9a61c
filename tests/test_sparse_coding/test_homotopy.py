# Copyright (c) mmista contributors. All rights reserved.
import logging

import numpy as np
import pytest

from mmista.sparse_coding import (homotopy_lasso, kkt_residual, kkt_tolerance,
                                  lasso_objective, solve_lasso)
from ..numerics import assert_same_lasso_solution

pytestmark = pytest.mark.numerics


@pytest.mark.parametrize('m,n', [(7, 14), (7, 35), (3, 20), (12, 8), (1, 5),
                                 (5, 1)])
def test_random_problems_satisfy_kkt(m, n):
    rng = np.random.default_rng(m * 100 + n)
    A = rng.standard_normal((16, m, n))
    b = rng.standard_normal((16, m)) * 10**rng.uniform(-4, 2, (16, 1))
    for lam in (1e-5, 1e-2):
        z, done = homotopy_lasso(A, b, lam)
        assert done.all()
        assert (kkt_residual(A, b, z, lam) <= kkt_tolerance(A, b, z,
                                                            lam)).all()


def test_padding_columns_stay_zero():
    rng = np.random.default_rng(0)
    A = rng.random((2, 7, 35))
    A[0, :, 14:] = 5.0  # ignored: problem 0 has 14 columns
    b = rng.standard_normal((2, 7))
    z, done = homotopy_lasso(A, b, 1e-5, num_cols=np.array([14, 35]))
    assert done.all()
    assert not z[0, 14:].any()  # exact: padding columns never enter
    z0, _ = homotopy_lasso(A[:1, :, :14], b[:1], 1e-5)
    # padded and unpadded batches round differently: compare to rounding
    assert_same_lasso_solution(z[0, :14], z0[0], A[0, :, :14])


def test_iteration_cap_is_reported():
    rng = np.random.default_rng(1)
    A, b = rng.random((1, 7, 35)), rng.standard_normal((1, 7))
    z, done = homotopy_lasso(A, b, 1e-5, max_iter=1)
    assert not done[0]
    z, done = homotopy_lasso(A, b, 1e-5)
    assert done[0]


def test_objective_not_above_perturbed_points():
    rng = np.random.default_rng(2)
    A, b = rng.random((7, 28)), rng.standard_normal(7) * 1e-3
    lam = 1e-5
    z = solve_lasso(A, b, lam)
    f = lasso_objective(A, b, z, lam)
    for _ in range(200):
        dz = rng.standard_normal(28) * 10**rng.uniform(-9, -3)
        assert lasso_objective(A, b, z + dz, lam) >= f


def test_lasso_objective_and_kkt_values():
    A = np.eye(2)
    b = np.array([1.0, 0.05])
    lam = 0.1
    z = np.array([0.9, 0.0])  # the exact minimiser
    assert kkt_residual(A, b, z, lam) == pytest.approx(0.0, abs=1e-15)
    assert lasso_objective(A, b, z,
                           lam) == pytest.approx(0.5 * (0.01 + 0.0025) + 0.09)
    wrong = np.array([0.9, -0.01])  # wrong sign on the second coordinate
    assert kkt_residual(A, b, wrong, lam) == pytest.approx(0.16)
    batch = lasso_objective(
        np.stack([A, A]), np.stack([b, b]), np.stack([z, wrong]), lam)
    assert batch.shape == (2, )


def test_unfinished_path_is_reported(mm_log):
    rng = np.random.default_rng(4)
    A, b = rng.random((7, 35)), rng.standard_normal(7)
    solve_lasso(A, b, 1e-5, solver=dict(type='homotopy', max_iter=1))
    warnings = [r.getMessage() for r in mm_log if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'optimality tolerance' in warnings[0]


def test_degenerate_problem_warning_matches_kkt_check(mm_log):
    # numerically rank one: warn exactly when the result misses the check
    rng = np.random.default_rng(3)
    A = np.outer(rng.random(11), rng.random(30)) + 1e-9 * rng.random((11, 30))
    b = rng.standard_normal(11) * 1e3
    lam = 4e-8
    z = solve_lasso(A, b, lam)
    if kkt_residual(A, b, z, lam) > kkt_tolerance(A, b, z, lam):
        assert any(r.levelno == logging.WARNING
                   and 'optimality tolerance' in r.getMessage()
                   for r in mm_log)
    else:
        assert not any(r.levelno == logging.WARNING for r in mm_log)
