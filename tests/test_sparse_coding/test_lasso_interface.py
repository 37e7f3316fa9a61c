# Copyright (c) mmista contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmista.sparse_coding import (DEFAULT_LAMBDA, LASSO_SOLVERS, kkt_residual,
                                  lasso_objective, solve_lasso,
                                  valid_solver_names)
from ..numerics import assert_same_lasso_solution

pytestmark = pytest.mark.numerics


def soft_threshold(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


@pytest.mark.parametrize('lam', [1e-5, 0.05, 0.3])
def test_orthonormal_columns_match_soft_threshold(lam):
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((10, 6)))  # Q^T Q = I
    z_true = np.array([0.9, 0.0, -0.5, 0.0, 0.02, 0.0])
    b = Q @ z_true + 0.01 * rng.standard_normal(10)
    z = solve_lasso(Q, b, lam)
    np.testing.assert_allclose(z, soft_threshold(Q.T @ b, lam), atol=1e-12)


def test_orthogonal_scaled_columns_closed_form():
    # A^T A = D^2 diagonal: z_k = soft(a_k^T b, lam) / d_k^2.
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 5)))
    d = np.array([0.5, 1.0, 2.0, 3.0, 0.1])
    A = Q * d
    z_true = np.array([1.0, 0.0, 0.0, -2.0, 0.0])
    b = A @ z_true
    lam = 0.01
    expected = soft_threshold(A.T @ b, lam) / d**2
    np.testing.assert_allclose(solve_lasso(A, b, lam), expected, atol=1e-12)
    # exactly sparse: the support of z_true is recovered, shrunk by lam/d^2
    np.testing.assert_allclose(
        expected[[0, 3]],
        z_true[[0, 3]] - lam * np.sign(z_true[[0, 3]]) / d[[0, 3]]**2)


def test_large_lambda_gives_zero():
    rng = np.random.default_rng(2)
    A, b = rng.random((7, 21)), rng.standard_normal(7)
    lam = float(np.abs(A.T @ b).max())
    # exact: above lam_max no column enters, the path returns its zero start
    np.testing.assert_array_equal(
        solve_lasso(A, b, lam * 1.0001), np.zeros(21))
    assert np.abs(solve_lasso(A, b, lam * 0.9)).max() > 0


def test_random_ista_nas_shapes_are_optimal(make_nodes):
    rng = np.random.default_rng(3)
    for _ in range(20):
        As, bs = make_nodes(rng)
        for A, b, z in zip(As, bs, solve_lasso(As, bs, DEFAULT_LAMBDA)):
            assert kkt_residual(A, b, z, DEFAULT_LAMBDA) < 1e-3 * \
                DEFAULT_LAMBDA
            assert np.count_nonzero(z) <= A.shape[0]


def test_single_batch_and_list_paths_agree():
    rng = np.random.default_rng(4)
    A = rng.random((5, 7, 28))
    b = rng.standard_normal((5, 7)) * 1e-2
    singles = np.stack([solve_lasso(A[i], b[i], 1e-5) for i in range(5)])
    batch = solve_lasso(A, b, 1e-5)
    listed = solve_lasso(list(A), list(b), 1e-5)
    assert batch.shape == (5, 28)
    # batches of 5 and of 1 round differently: compare to rounding
    for i in range(5):
        assert_same_lasso_solution(batch[i], singles[i], A[i])
        assert_same_lasso_solution(listed[i], singles[i], A[i])


def test_mixed_sizes_list_equals_separate_solves(make_nodes):
    rng = np.random.default_rng(5)
    As, bs = make_nodes(rng)
    together = solve_lasso(As, bs, 1e-5)
    assert [z.shape for z in together] == [(A.shape[1], ) for A in As]
    for A, b, z in zip(As, bs, together):
        # one padded batch against unpadded singles: compare to rounding
        assert_same_lasso_solution(z, solve_lasso(A, b, 1e-5), A)


def test_list_of_A_with_2d_b_tensor(make_nodes):
    rng = np.random.default_rng(6)
    As, _ = make_nodes(rng)
    As = [torch.from_numpy(A) for A in As[:4]]
    b = torch.randn(4, 7, generator=torch.Generator().manual_seed(0))
    zs = solve_lasso(As, b, 1e-5)
    assert all(isinstance(z, torch.Tensor) for z in zs)
    for A, b_j, z in zip(As, b, zs):
        # one padded batch against unpadded singles: compare to rounding
        assert_same_lasso_solution(z, solve_lasso(A, b_j, 1e-5), A)


def test_numpy_types_follow_b():
    rng = np.random.default_rng(7)
    A, b = rng.random((7, 14)), rng.standard_normal(7)
    z64 = solve_lasso(A, b, 1e-5)
    assert isinstance(z64, np.ndarray) and z64.dtype == np.float64
    z32 = solve_lasso(A.astype(np.float32), b.astype(np.float32), 1e-5)
    assert isinstance(z32, np.ndarray) and z32.dtype == np.float32
    # exact: the same float64 solve of the same shape, then rounded
    expected = solve_lasso(
        A.astype(np.float32).astype(np.float64),
        b.astype(np.float32).astype(np.float64), 1e-5)
    np.testing.assert_array_equal(z32, expected.astype(np.float32))
    z_int = solve_lasso(A, np.arange(7), 1e-5)
    assert z_int.dtype == np.float64


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_torch_in_torch_out(dtype):
    gen = torch.Generator().manual_seed(0)
    A = torch.rand(7, 35, generator=gen, dtype=dtype)
    b = torch.randn(7, generator=gen, dtype=dtype).requires_grad_()
    z = solve_lasso(A, b, 1e-5)
    assert isinstance(z, torch.Tensor)
    assert z.dtype == dtype and z.device == b.device
    assert not z.requires_grad
    expected = solve_lasso(A.double().numpy(),
                           b.detach().double().numpy(), 1e-5)
    # exact: torch input is converted, then takes the same numpy solve
    np.testing.assert_array_equal(z.numpy(), expected.astype(z.numpy().dtype))
    zb = solve_lasso(A[None].expand(3, -1, -1),
                     b.detach()[None].expand(3, -1), 1e-5)
    assert zb.shape == (3, 35) and zb.dtype == dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_torch_cuda_device_is_kept():
    A = torch.rand(7, 14, device='cuda')
    b = torch.randn(7, device='cuda')
    z = solve_lasso(A, b, 1e-5)
    assert z.device == b.device and z.dtype == b.dtype
    torch.testing.assert_close(z.cpu(), solve_lasso(A.cpu(), b.cpu(), 1e-5))


def test_logs_the_solver_used(mm_log):
    rng = np.random.default_rng(8)
    solve_lasso(rng.random((7, 14)), rng.standard_normal(7), 1e-5)
    messages = [r.getMessage() for r in mm_log]
    assert any("'homotopy'" in m and 'solve_lasso' in m for m in messages)


def test_solver_names_and_aliases():
    assert {'homotopy', 'cvxpy'} <= set(LASSO_SOLVERS)
    assert {'auto', 'native', 'homotopy', 'cvxpy'} <= set(valid_solver_names())
    rng = np.random.default_rng(9)
    A, b = rng.random((7, 21)), rng.standard_normal(7)
    auto = solve_lasso(A, b, 1e-5)
    # exact: the names are aliases of one solver on one path
    np.testing.assert_array_equal(auto, solve_lasso(A, b, 1e-5, 'native'))
    np.testing.assert_array_equal(
        auto, solve_lasso(A, b, 1e-5, dict(type='homotopy')))


def test_degenerate_dictionaries_stay_optimal():
    rng = np.random.default_rng(10)
    A = rng.random((7, 21))
    A[:, 5] = A[:, 2]  # repeated column
    A[:, 9] = 0.0  # zero column
    A[:, 11] = 2 * A[:, 3]  # parallel column
    b = A[:, [2, 3]] @ np.array([1.0, -1.0])
    for lam in (1e-5, 1e-2):
        z = solve_lasso(A, b, lam)
        assert kkt_residual(A, b, z, lam) < 1e-6 * lam
        assert z[9] == 0.0  # exact: a zero column never correlates
    # exact: b = 0 gives lam_max = 0 < lam, the path's zero start
    np.testing.assert_array_equal(
        solve_lasso(A, np.zeros(7), 1e-5), np.zeros(21))


def test_integer_dictionary_with_ties():
    # exact ties between kinks; the native solver must still be optimal
    rng = np.random.default_rng(11)
    A = rng.integers(0, 3, (4, 26)).astype(float)
    b = rng.standard_normal(4) * 1e-4
    lam = 1.7e-6
    z = solve_lasso(A, b, lam)
    assert kkt_residual(A, b, z, lam) < 1e-5 * lam
    z_ref = solve_lasso(A, b, lam, dict(type='cvxpy', solver='CLARABEL'))
    assert lasso_objective(A, b, z, lam) <= \
        lasso_objective(A, b, z_ref, lam) * (1 + 1e-6)


def test_empty_inputs():
    assert solve_lasso([], [], 1e-5) == []
    z = solve_lasso(np.zeros((0, 7, 14)), np.zeros((0, 7)), 1e-5)
    assert z.shape == (0, 14)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_raise(bad):
    A, b = np.ones((7, 14)), np.ones(7)
    A_bad = A.copy()
    A_bad[3, 4] = bad
    with pytest.raises(ValueError, match=r'A must be finite.*\(3, 4\)'):
        solve_lasso(A_bad, b, 1e-5)
    b_bad = b.copy()
    b_bad[2] = bad
    with pytest.raises(ValueError, match=r'b must be finite'):
        solve_lasso(A, b_bad, 1e-5)
    with pytest.raises(ValueError, match=r'b\[1\] must be finite'):
        solve_lasso([A, A], [b, b_bad], 1e-5)
    with pytest.raises(ValueError, match='A must be finite'):
        solve_lasso(torch.from_numpy(A_bad), torch.from_numpy(b), 1e-5)


@pytest.mark.parametrize('lam', [0, 0.0, -1e-5, np.nan, np.inf])
def test_bad_lambda_raises(lam):
    with pytest.raises(ValueError, match='lam must be a positive finite'):
        solve_lasso(np.ones((7, 14)), np.ones(7), lam)


@pytest.mark.parametrize('lam', ['1e-5', None, True, [1e-5]])
def test_lambda_type_raises(lam):
    with pytest.raises(TypeError, match='lam must be a real number'):
        solve_lasso(np.ones((7, 14)), np.ones(7), lam)


def test_lambda_tensor_accepted():
    rng = np.random.default_rng(12)
    A, b = rng.random((7, 14)), rng.standard_normal(7)
    # exact: the tensor becomes the same float, then the same solve
    np.testing.assert_array_equal(
        solve_lasso(A, b, torch.tensor(1e-5, dtype=torch.float64)),
        solve_lasso(A, b, 1e-5))


def test_shape_mismatches_raise():
    A = np.ones((7, 14))
    with pytest.raises(ValueError, match=r'b must have shape \(7,\).*\(6,\)'):
        solve_lasso(A, np.ones(6), 1e-5)
    with pytest.raises(ValueError, match=r'b must have shape \(3, 7\)'):
        solve_lasso(np.ones((3, 7, 14)), np.ones((2, 7)), 1e-5)
    with pytest.raises(ValueError, match='A must be 2-D'):
        solve_lasso(np.ones(7), np.ones(7), 1e-5)
    with pytest.raises(ValueError, match='A has 2 dictionaries but b has 1'):
        solve_lasso([A, A], [np.ones(7)], 1e-5)
    with pytest.raises(ValueError, match=r'b\[1\] must have shape \(7,\)'):
        solve_lasso([A, A], [np.ones(7), np.ones(5)], 1e-5)
    with pytest.raises(ValueError, match=r'A\[0\] must be 2-D'):
        solve_lasso([np.ones((1, 7, 14))], [np.ones(7)], 1e-5)
    with pytest.raises(ValueError, match='at least one row and one column'):
        solve_lasso(np.ones((7, 0)), np.ones(7), 1e-5)


def test_input_types_raise():
    with pytest.raises(TypeError, match='A must be a numpy array'):
        solve_lasso('A', np.ones(1), 1e-5)
    with pytest.raises(TypeError, match='b must be a numpy array'):
        solve_lasso(np.ones((1, 2)), 1.0, 1e-5)
    with pytest.raises(TypeError, match=r'A\[0\] and b\[0\]'):
        solve_lasso([[1.0, 2.0]], [np.ones(1)], 1e-5)
    with pytest.raises(TypeError, match='b must be a list'):
        solve_lasso([np.ones((7, 14))], np.ones(7), 1e-5)
    with pytest.raises(TypeError, match='A must be a real array'):
        solve_lasso(np.ones((2, 3), dtype=complex), np.ones(2), 1e-5)


def test_unknown_solver_lists_valid_ones():
    with pytest.raises(
            ValueError,
            match=r"unknown LASSO solver 'mosek'.*cvxpy.*homotopy"):
        solve_lasso(np.ones((7, 14)), np.ones(7), 1e-5, solver='mosek')
    with pytest.raises(ValueError, match='"type" key'):
        solve_lasso(
            np.ones((7, 14)), np.ones(7), 1e-5, solver=dict(solver='CLARABEL'))
    with pytest.raises(TypeError, match='solver must be a str'):
        solve_lasso(np.ones((7, 14)), np.ones(7), 1e-5, solver=3)
