# Copyright (c) mmista contributors. All rights reserved.
"""torch.compile: the target network and the super-net between recoveries
compile in one graph and compute what they compute eagerly.

The target network is compiled with inductor (minutes of C++ compilation
on two cores, cached across runs under the inductor cache); the super-net
with ``aot_eager`` (the same graph capture, guards and autograd graphs
without code generation), to check its single graph and its recompilation
when a recovery moves the supports.
"""
import copy

import pytest
import torch
from torch._dynamo.utils import counters

from ..test_analysis.test_host_syncs import tiny_batch, tiny_pair

pytestmark = pytest.mark.compile


def loss_and_grads(model, backbone, data):
    """The classifier's loss with ``backbone`` in place of its own, and
    the gradient of every parameter."""
    model.zero_grad(set_to_none=True)
    feats = backbone(data['inputs'])
    losses = model.head.loss(feats, data['data_samples'])
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = {
        name: param.grad.clone()
        for name, param in model.named_parameters() if param.grad is not None
    }
    return loss.detach(), grads


def assert_same(eager, compiled):
    """Loss and gradients agree to float tolerance."""
    (loss, grads), (compiled_loss, compiled_grads) = eager, compiled
    torch.testing.assert_close(compiled_loss, loss, rtol=1e-4, atol=1e-5)
    assert compiled_grads.keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(
            compiled_grads[name], grad, rtol=1e-3, atol=1e-5, msg=name)


def compiled_twin(model, backend):
    """A copy of ``model`` with its backbone compiled by ``backend`` (one
    graph: any graph break raises)."""
    twin = copy.deepcopy(model)
    return twin, torch.compile(twin.backbone, backend=backend, fullgraph=True)


@pytest.fixture(scope='module')
def pair():
    torch.manual_seed(0)
    supernet, target = tiny_pair()
    for model in (supernet, target):
        model.backbone.drop_path_prob = 0.  # compiled RNG differs
    return supernet, target


# Not rerun with older CPUs' kernels (.ci/test_kernels.sh): inductor would
# generate and compile its C++ kernels again for each (minutes), and its
# comparison with eager is one of float tolerance on any kernels.
def test_target_network_compiles_to_eager_results(pair):
    target = pair[1]
    data = target.data_preprocessor(tiny_batch(), True)
    twin, compiled = compiled_twin(target, 'inductor')
    for _ in range(2):  # BatchNorm statistics move alike
        assert_same(
            loss_and_grads(target, target.backbone, data),
            loss_and_grads(twin, compiled, data))
    for name, buffer in target.backbone.named_buffers():
        torch.testing.assert_close(
            dict(twin.backbone.named_buffers())[name],
            buffer,
            rtol=1e-4,
            atol=1e-5,
            msg=name)


@pytest.mark.numerics
def test_supernet_recompiles_when_a_recovery_moves_the_supports(pair):
    supernet = pair[0]
    data = supernet.data_preprocessor(tiny_batch(), True)
    torch._dynamo.reset()
    counters.clear()
    twin, compiled = compiled_twin(supernet, 'aot_eager')
    assert_same(
        loss_and_grads(supernet, supernet.backbone, data),
        loss_and_grads(twin, compiled, data))
    assert all(b.grad is not None for b in twin.architecture_parameters())
    # new b, same in both: the next recovery moves some supports
    before = twin.backbone.genotype()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for model in (supernet, twin):
            for b in model.architecture_parameters():
                b.copy_(torch.randn(b.shape, generator=generator))
            generator.manual_seed(1)
            model.backbone.recover()
            model.backbone.sync_edge_batchnorms()
    assert twin.backbone.genotype() != before
    assert twin.backbone.genotype() == supernet.backbone.genotype()
    assert counters['stats']['unique_graphs'] == 1
    assert_same(
        loss_and_grads(supernet, supernet.backbone, data),
        loss_and_grads(twin, compiled, data))
    assert counters['stats']['unique_graphs'] == 2  # recompiled once
    loss_and_grads(twin, compiled, data)
    assert counters['stats']['unique_graphs'] == 2
