# Copyright (c) mmista contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmista.sparse_coding import (build_dictionaries, init_compressed,
                                  recover_architecture, select_support,
                                  solve_lasso, support_bias, support_weights)
from mmista.structures import Genotype
from ..numerics import assert_same_lasso_solution

pytestmark = pytest.mark.numerics


def test_recover_architecture_is_consistent():
    dicts = build_dictionaries(seed=0)
    b = init_compressed(seed=0)
    result = recover_architecture(dicts, b)
    assert isinstance(result.genotype, Genotype)
    edges = dict(normal=result.genotype.normal, reduce=result.genotype.reduce)
    for cell in ('normal', 'reduce'):
        for j, (A, z, S, bias) in enumerate(
                zip(dicts[cell], result.z[cell], result.supports[cell],
                    result.biases[cell])):
            z_ref = solve_lasso(A, b[cell][j].double(), 1e-5)
            # one batch of 8 nodes against single solves: rounding apart
            assert_same_lasso_solution(z, z_ref, A)
            assert z.dtype == torch.float64
            # exact: the recovery's support is select_support of its own z
            assert S.tolist() == select_support(z, 2).tolist()
            torch.testing.assert_close(bias, support_bias(A, z, S))
            assert edges[cell][2 * j:2 * j + 2] == [
                (('max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
                  'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3',
                  'dil_conv_5x5')[k % 7], k // 7) for k in S.tolist()
            ]
            w = support_weights(A, b[cell][j].double(), S, bias)
            torch.testing.assert_close(
                w[S],
                z[S] + A[:, S].T @ (b[cell][j].double() - A[:, S] @ z[S]))


def test_recover_recovers_planted_architecture():
    # orthonormal columns (m = 35 >= n_j): the LASSO is a soft threshold, so
    # a planted 2-sparse architecture must come back exactly
    q, _ = torch.linalg.qr(
        torch.randn(
            35,
            35,
            generator=torch.Generator().manual_seed(0),
            dtype=torch.float64))
    dicts = {
        cell: [q[:, :(2 + j) * 7] for j in range(4)]
        for cell in ('normal', 'reduce')
    }
    planted = dict(
        normal=[[3, 10], [0, 20], [14, 27], [7, 34]],
        reduce=[[1, 8], [2, 16], [5, 22], [29, 30]])
    compressed = {}
    for cell, supports in planted.items():
        rows = []
        for A, S in zip(dicts[cell], supports):
            z = torch.zeros(A.shape[1], dtype=torch.float64)
            z[S] = torch.tensor([0.8, -0.6], dtype=torch.float64)
            rows.append(A @ z)
        compressed[cell] = torch.stack(rows)
    result = recover_architecture(dicts, compressed)
    for cell, supports in planted.items():
        assert [S.tolist() for S in result.supports[cell]] == supports
        for z, S in zip(result.z[cell], supports):
            torch.testing.assert_close(
                z[S],
                torch.tensor([0.8 - 1e-5, -0.6 + 1e-5], dtype=torch.float64))
    assert result.genotype.normal[:2] == [('sep_conv_3x3', 0),
                                          ('sep_conv_3x3', 1)]
    assert result.genotype.reduce[-2:] == [('avg_pool_3x3', 4),
                                           ('skip_connect', 4)]


def test_recover_architecture_errors():
    dicts = build_dictionaries(seed=0)
    b = init_compressed(seed=0)
    with pytest.raises(ValueError, match="'reduce' is missing"):
        recover_architecture(dict(normal=dicts['normal']), b)
    with pytest.raises(ValueError, match='4 dictionaries but 3'):
        recover_architecture(dicts,
                             dict(normal=b['normal'][:3], reduce=b['reduce']))
    with pytest.raises(ValueError, match=r'sparsity \(s=15\)'):
        recover_architecture(dicts, b, sparsity=15)
    with pytest.raises(ValueError, match='lam must be a positive'):
        recover_architecture(dicts, b, lam=0.0)


def test_recover_with_cvxpy_matches_native():
    dicts = build_dictionaries(seed=2)
    rng = np.random.default_rng(2)
    b = {
        cell: torch.from_numpy(rng.standard_normal((4, 7)) * 1e-2)
        for cell in ('normal', 'reduce')
    }
    native = recover_architecture(dicts, b)
    reference = recover_architecture(
        dicts, b, solver=dict(type='cvxpy', solver='CLARABEL'))
    # Each node's 2nd and 3rd |z| lie > 1e-3 of its largest apart, far
    # beyond both solvers' accuracy, so the top-2 supports must agree.
    for z in native.z['normal'] + native.z['reduce']:
        mags = z.abs().sort(descending=True).values
        assert mags[1] - mags[2] > 1e-3 * mags[0]
    assert native.genotype == reference.genotype
