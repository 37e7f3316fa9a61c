# Copyright (c) mmista contributors. All rights reserved.
import importlib.util
import logging

import cvxpy
import numpy as np
import pytest

from mmista.sparse_coding import (find_mosek_license, lasso_objective,
                                  mosek_status, select_support, solve_lasso)
from mmista.sparse_coding.cvxpy_backend import is_license_error

pytestmark = pytest.mark.numerics

MOSEK_IMPORTABLE = importlib.util.find_spec('mosek') is not None
CLARABEL = dict(type='cvxpy', solver='CLARABEL')


def _warnings(records):
    return [r.getMessage() for r in records if r.levelno == logging.WARNING]


@pytest.fixture
def no_license(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.delenv('MOSEKLM_LICENSE_FILE', raising=False)
    return tmp_path


def test_clarabel_agrees_with_native(make_nodes):
    rng = np.random.default_rng(0)
    lam = 1e-5
    for _ in range(3):
        As, bs = make_nodes(rng)
        native = solve_lasso(As, bs, lam)
        reference = solve_lasso(As, bs, lam, solver=CLARABEL)
        for A, b, z, z_ref in zip(As, bs, native, reference):
            f, f_ref = (lasso_objective(A, b, x, lam) for x in (z, z_ref))
            # the native minimiser is never worse than the interior point
            assert (f - f_ref) / f_ref <= 1e-6
            mags = np.sort(np.abs(z_ref))[::-1]
            if mags[1] - mags[2] > 1e-4 * mags[0]:
                np.testing.assert_array_equal(
                    select_support(z), select_support(z_ref))
            np.testing.assert_allclose(z, z_ref, atol=1e-4 * mags[0])


def test_cvxpy_batch_and_torch_layouts():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(1)
    A = rng.random((2, 7, 14))
    b = rng.standard_normal((2, 7))
    z = solve_lasso(
        torch.from_numpy(A), torch.from_numpy(b), 1e-5, solver=CLARABEL)
    assert isinstance(z, torch.Tensor) and z.shape == (2, 14)
    np.testing.assert_allclose(z.numpy(), solve_lasso(A, b, 1e-5), atol=1e-6)


def test_cvxpy_other_solver_is_used(mm_log):
    rng = np.random.default_rng(2)
    A, b = rng.random((7, 14)), rng.standard_normal(7)
    solve_lasso(A, b, 1e-5, solver=dict(type='cvxpy', solver='SCS'))
    assert any('cvxpy/SCS' in r.getMessage() for r in mm_log)


def test_unknown_cvxpy_solver_raises():
    with pytest.raises(
            ValueError,
            match="cvxpy solver 'NOPE' is not "
            'installed; installed: .*CLARABEL'):
        solve_lasso(
            np.ones((7, 14)),
            np.ones(7),
            1e-5,
            solver=dict(type='cvxpy', solver='NOPE'))
    with pytest.raises(ValueError, match="fallback cvxpy solver 'NOPE'"):
        solve_lasso(
            np.ones((7, 14)),
            np.ones(7),
            1e-5,
            solver=dict(type='cvxpy', fallback='nope'))


def test_mosek_fallback_without_license(no_license, mm_log):
    rng = np.random.default_rng(3)
    A, b = rng.random((7, 21)), rng.standard_normal(7)
    z = solve_lasso(A, b, 1e-5, solver='cvxpy')
    warnings = _warnings(mm_log)
    assert len(warnings) == 1
    message = warnings[0]
    assert 'MOSEK' in message and 'Falling back' in message
    assert 'CLARABEL' in message
    if not MOSEK_IMPORTABLE:
        assert 'not installed' in message
    else:
        assert 'license' in message and str(no_license) in message
    assert any('cvxpy/CLARABEL' in r.getMessage() for r in mm_log)
    np.testing.assert_allclose(
        z, solve_lasso(A, b, 1e-5, solver=CLARABEL), atol=1e-12)


def test_explicit_mosek_request_falls_back(no_license, mm_log):
    rng = np.random.default_rng(4)
    A, b = rng.random((7, 14)), rng.standard_normal(7)
    solve_lasso(A, b, 1e-5, solver=dict(type='cvxpy', solver='MOSEK'))
    warnings = _warnings(mm_log)
    assert len(warnings) == 1 and 'MOSEK was requested' in warnings[0]


def test_mosek_status_and_license_lookup(no_license, monkeypatch):
    usable, reason = mosek_status()
    assert not usable
    if not MOSEK_IMPORTABLE:
        assert 'not installed' in reason
    assert find_mosek_license() is None
    license_file = no_license / 'mosek' / 'mosek.lic'
    license_file.parent.mkdir()
    license_file.write_text('FEATURE PTS MOSEKLM\n')
    assert find_mosek_license() == str(license_file)
    other = no_license / 'elsewhere.lic'
    other.write_text('FEATURE PTS MOSEKLM\n')
    license_file.unlink()
    monkeypatch.setenv('MOSEKLM_LICENSE_FILE', str(other))
    assert find_mosek_license() == str(other)
    monkeypatch.setenv('MOSEKLM_LICENSE_FILE', '27000@licenses.example')
    assert find_mosek_license() == '27000@licenses.example'


def test_license_errors_are_recognised():
    error = cvxpy.error.SolverError(
        'Solver MOSEK failed. rescode.err_missing_license_file(1008): '
        'License cannot be located.')
    assert is_license_error(error)
    try:
        try:
            raise RuntimeError('err_license_expired')
        except RuntimeError as cause:
            raise cvxpy.error.SolverError('Solver MOSEK failed.') from cause
    except cvxpy.error.SolverError as chained:
        assert is_license_error(chained)
    assert not is_license_error(
        cvxpy.error.SolverError('Solver CLARABEL failed: max iterations'))
