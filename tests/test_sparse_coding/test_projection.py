# Copyright (c) mmista contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmista.sparse_coding import (build_dictionaries, init_compressed,
                                  select_support, support_bias, support_mask,
                                  support_weights)

pytestmark = pytest.mark.numerics


def test_dictionaries_shapes_range_and_seed():
    dicts = build_dictionaries(seed=3)
    assert set(dicts) == {'normal', 'reduce'}
    for cell in dicts:
        assert [tuple(A.shape) for A in dicts[cell]] == [(7, 14), (7, 21),
                                                         (7, 28), (7, 35)]
        for A in dicts[cell]:
            assert A.dtype == torch.float64
            assert 0.0 <= float(A.min()) and float(A.max()) < 1.0
    again = build_dictionaries(seed=3)
    other = build_dictionaries(seed=4)
    for cell in dicts:
        for A, B, C in zip(dicts[cell], again[cell], other[cell]):
            assert torch.equal(A, B)  # exact: the same seeded draw
            assert not torch.equal(A, C)
    assert not torch.equal(dicts['normal'][0], dicts['reduce'][0])
    small = build_dictionaries(
        steps=2, proj_dim=3, seed=0, dtype=torch.float32)
    assert [tuple(A.shape) for A in small['normal']] == [(3, 14), (3, 21)]
    assert small['normal'][0].dtype == torch.float32


def test_dictionary_entries_look_uniform():
    A = torch.cat([x.flatten() for x in build_dictionaries(seed=0)['normal']])
    assert abs(float(A.mean()) - 0.5) < 0.05
    assert abs(float(A.var()) - 1 / 12) < 0.01


def test_init_compressed():
    b = init_compressed(seed=1)
    assert set(b) == {'normal', 'reduce'}
    assert b['normal'].shape == (4, 7) and b['normal'].dtype == torch.float32
    assert 1e-4 < float(b['normal'].std()) < 1e-2
    # exact: the same seeded draw
    assert torch.equal(b['reduce'], init_compressed(seed=1)['reduce'])
    assert not torch.equal(b['normal'], b['reduce'])
    assert not torch.equal(b['normal'], init_compressed(seed=2)['normal'])


def test_construction_errors():
    with pytest.raises(ValueError, match='steps must be >= 1'):
        build_dictionaries(steps=0)
    with pytest.raises(TypeError, match='seed must be an int'):
        build_dictionaries(seed=1.5)
    with pytest.raises(ValueError, match='std must be'):
        init_compressed(std=-1.0)


def test_select_support_magnitudes_and_ties():
    z = np.array([1.0, -3.0, 3.0, 0.0, 3.0, -0.5])
    np.testing.assert_array_equal(select_support(z, 2), [1, 2])
    np.testing.assert_array_equal(select_support(z, 3), [1, 2, 4])
    np.testing.assert_array_equal(select_support(z, 4), [0, 1, 2, 4])
    np.testing.assert_array_equal(select_support(np.zeros(5), 2), [0, 1])
    many = np.full(35, 0.5)
    many[[30, 20, 11, 3]] = [-1.0, 1.0, -1.0, 1.0]
    np.testing.assert_array_equal(select_support(many, 3), [3, 11, 20])
    assert select_support(torch.tensor(many), 3).tolist() == [3, 11, 20]
    np.testing.assert_array_equal(
        select_support(many, 6), [0, 1, 3, 11, 20, 30])
    t = torch.tensor(z)
    s = select_support(t, 2)
    assert isinstance(s, torch.Tensor) and s.dtype == torch.int64
    assert s.tolist() == [1, 2]
    batch = select_support(np.stack([z, -z[::-1]]), 2)
    np.testing.assert_array_equal(batch, [[1, 2], [1, 3]])
    assert select_support(torch.stack([t, -t.flip(0)]), 2).tolist() == [[1, 2],
                                                                        [1, 3]]


def test_select_support_errors():
    with pytest.raises(ValueError, match=r'sparsity \(s=3\).*n=2'):
        select_support(np.ones(2), 3)
    with pytest.raises(ValueError, match='sparsity must be >= 1'):
        select_support(np.ones(4), 0)
    with pytest.raises(ValueError, match='z must be finite'):
        select_support(np.array([1.0, np.nan]), 1)
    with pytest.raises(ValueError, match='z must be 1-D'):
        select_support(np.ones((2, 2, 2)), 1)
    with pytest.raises(TypeError, match='z must be a numpy array'):
        select_support([1.0, 2.0], 1)


def _random_node(seed=0, n=21, m=7):
    rng = np.random.default_rng(seed)
    return rng.random((m, n)), rng.standard_normal(m), rng.standard_normal(n)


def test_weights_equal_one_ista_step_on_support():
    A, b, z = _random_node()
    S = np.array([3, 17])
    bias = support_bias(A, z, S)
    w = support_weights(A, b, S, bias)
    expected = z[S] + A[:, S].T @ (b - A[:, S] @ z[S])
    np.testing.assert_allclose(w[S], expected, rtol=1e-12, atol=1e-14)
    off = np.setdiff1d(np.arange(21), S)
    assert not w[off].any() and not bias[off].any()
    # the definition: A_S^T b - (A^T A - I)_{:,S}^T z_S on S
    E = A.T @ A - np.eye(21)
    np.testing.assert_allclose(
        bias[S],
        E[:, S].T @ np.where(np.isin(np.arange(21), S), z, 0.0),
        rtol=1e-12)


def test_bias_ignores_z_off_support():
    A, _, z = _random_node(1)
    S = [0, 5]
    z2 = z.copy()
    z2[[1, 2, 20]] += 10.0
    # exact: z is masked to S before any arithmetic, so both calls compute
    # the same products
    np.testing.assert_array_equal(
        support_bias(A, z, S), support_bias(A, z2, S))


def test_weights_gradient_is_A_S_transpose():
    A, b, z = _random_node(2)
    S = torch.tensor([4, 9])
    A_t = torch.from_numpy(A)
    bias = support_bias(A_t, torch.from_numpy(z), S)
    assert isinstance(bias, torch.Tensor) and bias.dtype == torch.float64
    b_t = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(
        lambda x: support_weights(A_t, x, S, bias), b_t)
    expected = torch.zeros(21, 7, dtype=torch.float64)
    expected[S] = A_t[:, S].T
    torch.testing.assert_close(jac, expected)
    # float32 parameter, float64 buffers: result follows b
    b32 = torch.tensor(b, dtype=torch.float32, requires_grad=True)
    w = support_weights(A_t, b32, S, bias)
    assert w.dtype == torch.float32
    w.sum().backward()
    torch.testing.assert_close(b32.grad, A_t[:, S].sum(1).float())


def test_weights_numpy_matches_torch():
    A, b, z = _random_node(3)
    S = [1, 2]
    w_np = support_weights(A, b, S, support_bias(A, z, S))
    w_t = support_weights(
        torch.from_numpy(A), torch.from_numpy(b), torch.tensor(S),
        support_bias(torch.from_numpy(A), torch.from_numpy(z), S))
    np.testing.assert_allclose(w_np, w_t.numpy(), rtol=1e-12)


def test_support_mask_and_errors():
    mask = support_mask([2, 0], 4)
    assert mask.tolist() == [1.0, 0.0, 1.0, 0.0]
    A, b, z = _random_node(4)
    with pytest.raises(ValueError, match=r'outside \[0, 21\)'):
        support_bias(A, z, [0, 21])
    with pytest.raises(ValueError, match='repeated indices'):
        support_bias(A, z, [3, 3])
    with pytest.raises(ValueError, match=r'z must have shape \(21,\)'):
        support_bias(A, z[:5], [0, 1])
    with pytest.raises(ValueError, match=r'b must have shape \(7,\)'):
        support_weights(A, b[:3], [0, 1], np.zeros(21))
    with pytest.raises(ValueError, match=r'bias must have shape \(21,\)'):
        support_weights(A, b, [0, 1], np.zeros(20))
