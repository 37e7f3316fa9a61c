# Copyright (c) mmista contributors. All rights reserved.
"""Host synchronisations: none in the networks, the documented ones in a
training iteration (docs/en/notes/host_synchronisation.md)."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from mmista.analysis.host_syncs import HostSyncCounter
from mmista.registry import MODELS
from ..utils import DIGITS_EVAL_CONFIG, ONESTAGE_DIGITS, tiny_config


def test_counter_names_the_synchronising_calls():
    x = torch.tensor([0., 1., 2.], requires_grad=True)
    with HostSyncCounter() as quiet:
        y = (x * 2).exp()
        y.sum().backward()
        torch.where(y > 1, y, 0.).repeat_interleave(2)
    assert quiet.total == 0, quiet.counts
    values = x.detach()
    with HostSyncCounter() as syncs:
        float(values[0])
        bool((values > 1).any())
        values.tolist()
        values[values > 1]
        values.nonzero()
        values.unique()
        torch.equal(values, values)
        values.repeat_interleave(torch.tensor([1, 2, 3]))
    assert syncs.counts == {
        '_local_scalar_dense': 2,
        'tolist': 1,
        'index (bool mask)': 1,
        'nonzero': 1,
        '_unique2': 1,
        'equal': 1,
        'repeat_interleave': 1
    }
    # where each was made
    assert syncs.sites['tolist', __name__ + '.'
                       'test_counter_names_the_synchronising_calls'] == 1


def tiny_pair():
    """The one-stage digits super-net (4 cells, C = 4) in search after its
    first recovery, and its target network (the derived network of the
    same supports and ops), both with drop path, in training mode."""
    init_default_scope('mmista')
    cfg = Config.fromfile(ONESTAGE_DIGITS).model
    cfg.backbone.update(
        channels=4, layers=4, arch_seed=0, drop_path_prob=0.1)
    cfg.head.update(in_channels=64, aux_in_channels=64)
    supernet = MODELS.build(cfg)
    supernet.backbone.recover()
    supernet.backbone.sync_edge_batchnorms()
    target_cfg = copy.deepcopy(cfg)
    target_cfg.type = 'ImageClassifier'
    target_cfg.backbone = supernet.backbone.derived_backbone_cfg(
        drop_path_prob=0.1, with_aux_feature=True)
    return supernet.train(), MODELS.build(target_cfg).train()


def tiny_batch(size: int = 4) -> dict:
    """Random 32x32 images and labels."""
    generator = torch.Generator().manual_seed(0)
    return dict(
        inputs=torch.randint(
            0, 256, (size, 3, 32, 32), dtype=torch.uint8,
            generator=generator),
        data_samples=[DataSample().set_gt_label(i) for i in range(size)])


def test_supernet_and_target_forward_and_backward_never_synchronise():
    for model in tiny_pair():
        data = model.data_preprocessor(tiny_batch(), True)
        with HostSyncCounter() as syncs:
            loss, _ = model.parse_losses(model(**data, mode='loss'))
            loss.backward()
        assert syncs.total == 0, (type(model.backbone).__name__,
                                  dict(syncs.sites))
        assert any(p.grad is not None for p in model.parameters())
    supernet = tiny_pair()[0]
    assert all(b.grad is None for b in supernet.architecture_parameters())


class _StartCounting(Hook):
    """Starts a count before any other hook of an iteration."""

    def __init__(self):
        self.iterations = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iterations.append(HostSyncCounter().__enter__())


class _StopCounting(Hook):
    """Stops it after every other hook of the iteration."""

    def __init__(self, start: _StartCounting):
        self.start = start

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.start.iterations[-1].__exit__(None, None, None)


def counted_iterations(cfg) -> list:
    """Trains ``cfg``, counting each iteration's synchronisations (every
    hook of the iteration included); returns the per-site counts."""
    runner = Runner.from_cfg(cfg)
    start = _StartCounting()
    runner.register_hook(start, priority='HIGHEST')
    runner.register_hook(_StopCounting(start), priority='LOWEST')
    runner.train()
    return [dict(count.sites) for count in start.iterations]


#: The synchronisations of every training iteration, by site: the table of
#: docs/en/notes/host_synchronisation.md.
STACK_BATCH = ('_local_scalar_dense', 'mmengine.model.utils.stack_batch')
FINITE_CHECK = ('tolist', 'mmista.engine.optimizers.finite_optim_wrapper.'
                '_raise_if_non_finite')
GRAD_NORM_LOG = ('_local_scalar_dense',
                 'mmista.engine.optimizers.finite_optim_wrapper.step')
ADAM_STEP = ('_local_scalar_dense', 'torch.optim.optimizer._get_value')
LOSS_LOG = ('_local_scalar_dense',
            'mmengine.logging.message_hub._get_valid_value')
FINITE_LOSS = ('tolist', 'mmista.engine.hooks.finite_loss_hook.read_scalars')


def test_training_iterations_synchronise_where_documented(tmp_path):
    cfg = tiny_config(tmp_path / 'eval', DIGITS_EVAL_CONFIG, validate=False)
    cfg.merge_from_dict({
        'train_dataloader.dataset.indices': 64,
        'train_cfg.max_epochs': 1
    })
    evaluation = {
        STACK_BATCH: 1,
        FINITE_CHECK: 1,
        GRAD_NORM_LOG: 1,
        LOSS_LOG: 2,  # one per variable train_step logs
        FINITE_LOSS: 1,
    }
    assert counted_iterations(cfg) == [evaluation] * 2

    # one search epoch, then one of the fixed architecture
    cfg = tiny_config(tmp_path / 'search', ONESTAGE_DIGITS, validate=False)
    cfg.param_scheduler = dict(weights=[], architecture=[])
    cfg.train_cfg.stages.export = None
    cfg.merge_from_dict({
        'train_dataloader.dataset.indices': 64,
        'train_cfg.max_epochs': 2,
        'train_cfg.stages.termination.max_search_epochs': 1,
        'train_cfg.stages.phase_switch.eval_epochs': 1,
    })
    fixed = {**evaluation, LOSS_LOG: 3}  # SearchClassifier logs one more
    search = {
        **fixed,
        FINITE_CHECK: 2,  # the weights' and b's wrappers
        ADAM_STEP: 8,  # b's Adam: one per node, on CPU step counts
    }
    assert counted_iterations(cfg) == [search] * 2 + [fixed] * 2


@pytest.mark.parametrize('count', [1, 3])
def test_counter_nests_and_closes(count):
    """Counters stack (each sees what runs inside it) and leave nothing
    behind once closed."""
    x = torch.ones(3)
    with HostSyncCounter() as outer:
        for _ in range(count):
            with HostSyncCounter() as inner:
                float(x.sum())
            assert inner.total == 1
    assert outer.total == count
    with HostSyncCounter() as after:
        pass
    float(x.sum())
    assert after.total == 0
