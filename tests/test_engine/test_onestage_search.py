# Copyright (c) mmista contributors. All rights reserved.
"""One-stage search in a real Runner: termination, BN release, phase
switch, drop-path, export."""
import copy
import json

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmista.engine.hooks import TerminationHook
from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES
from ..utils import REPO_ROOT, logged_records, tiny_config

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
SEARCH_CAP = 3
EVAL_EPOCHS = 2
FORCED = ('normal', 0)  # terminates after epoch 1


@HOOKS.register_module()
class _ConvergeNodeTerminationHook(TerminationHook):
    """The termination stage, after making one node's z look converged
    after epoch 1 and every other node's not (until the cap), so that the
    real termination test terminates exactly that node at epoch 1 and the
    others at the cap."""

    def before_train_epoch(self, runner):
        architecture = runner.model.backbone.architecture
        if 1 <= runner.epoch <= SEARCH_CAP:
            for cell in CELL_TYPES:
                getattr(architecture, f'{cell}_z_shift').fill_(1.)
            if runner.epoch == 1:
                getattr(architecture, f'{FORCED[0]}_z_shift')[FORCED[1]] = 0.
        super().before_train_epoch(runner)


@HOOKS.register_module()
class _RecordHook(Hook):
    """Records the architecture and edge BatchNorms at every epoch start,
    after every mmista hook has run."""

    priority = 'LOWEST'

    def __init__(self):
        self.records = []

    def before_train_epoch(self, runner):
        self.records.append(snapshot(runner))

    def after_train(self, runner):
        self.records.append(snapshot(runner))


def snapshot(runner):
    backbone = runner.model.backbone
    arch = backbone.architecture
    bns = {}
    for c, cell in enumerate(backbone.cells):
        for j, edges in enumerate(cell.nodes):
            for k in arch.supports(cell.cell_type)[j]:
                bn = [m for m in edges[k].modules()
                      if isinstance(m, torch.nn.BatchNorm2d)][-1]
                bns[(cell.cell_type, c, j, k)] = (
                    bn.weight.detach().clone(), bn.weight.requires_grad)
    return dict(
        epoch=runner.epoch,
        max_epochs=runner.max_epochs,
        b={(cell, j): arch.compressed[f'{cell}_{j}'].detach().clone()
           for cell in CELL_TYPES for j in range(4)},
        supports=copy.deepcopy(
            {cell: arch.supports(cell) for cell in CELL_TYPES}),
        terminated={cell: getattr(arch, f'{cell}_terminated_epoch').tolist()
                    for cell in CELL_TYPES},
        fixed_epoch=int(arch.fixed_epoch),
        drop_path=backbone.drop_path_prob,
        lr=runner.optim_wrapper['weights'].get_lr()['lr'][0],
        bns=bns)


def onestage_options():
    """The tiny network of the train tests, searched."""
    return {
        'model.backbone.channels': 4,
        'model.backbone.layers': 4,
        'model.head.in_channels': 64,
        'model.head.aux_in_channels': 64,
        'train_dataloader.batch_size': 32,
        'train_dataloader.dataset.indices': 96,
        'val_dataloader.dataset.indices': 64,
        'train_cfg.max_epochs': SEARCH_CAP + EVAL_EPOCHS + 5,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        # the tests force the z shifts; the network does not learn
        'train_cfg.stages.termination.chance_margin': 0,
        'train_cfg.stages.export.check_learned': False,
    }


@pytest.fixture(scope='module')
def onestage_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('onestage')
    cfg = tiny_config(work_dir, ONESTAGE_DIGITS)
    cfg.merge_from_dict(onestage_options())
    cfg.param_scheduler = dict(weights=[], architecture=[])
    cfg.merge_from_dict({
        'train_cfg.stages.termination.type': '_ConvergeNodeTerminationHook',
        'train_cfg.stages.termination.max_search_epochs': SEARCH_CAP,
        'train_cfg.stages.termination.min_search_iters': 0,
        'train_cfg.stages.phase_switch.eval_epochs': EVAL_EPOCHS,
    })
    return (*train_and_record(cfg), work_dir)


def train_and_record(cfg):
    """Trains a config; returns the runner, the :class:`_RecordHook`
    records and every logged message."""
    runner = Runner.from_cfg(cfg)
    recorder = _RecordHook()
    runner.register_hook(recorder)
    with logged_records(runner.logger) as records:
        runner.train()
    return runner, recorder.records, [r.getMessage() for r in records]


def test_terminated_node_stops_while_others_move(onestage_run):
    _, records, messages, _ = onestage_run
    at = {r['epoch']: r for r in records[:-1]}
    cell, node = FORCED
    assert at[1]['terminated'][cell][node] == 1
    assert at[1]['terminated']['reduce'] == [-1] * 4
    # Its b and support are frozen from then on ...
    for epoch in (2, 3):
        # exact: a terminated node's b is out of every optimizer
        assert torch.equal(at[epoch]['b'][FORCED], at[1]['b'][FORCED])
        assert at[epoch]['supports'][cell][node] == \
            at[1]['supports'][cell][node]
    # ... while the nodes still searching move.
    moved = [key for key in at[1]['b'] if key != FORCED and
             not torch.equal(at[2]['b'][key], at[1]['b'][key])]
    assert len(moved) == 7
    assert any('Node normal/0 terminated after epoch 1' in m
               for m in messages)


def test_bn_of_terminated_node_trains(onestage_run):
    _, records, _, _ = onestage_run
    at = {r['epoch']: r for r in records[:-1]}
    cell, node = FORCED
    mine = [key for key in at[1]['bns'] if key[0] == cell and key[2] == node]
    others = [key for key in at[2]['bns']
              if not (key[0] == cell and key[2] == node)]
    assert others
    for key in mine:  # exact: frozen BatchNorms are held at gamma = 1
        weight, trainable = at[1]['bns'][key]
        assert trainable and torch.equal(weight, torch.ones_like(weight))
        assert not torch.equal(at[3]['bns'][key][0], weight)  # it trained
    for key in others:  # still searching at epoch 2: frozen at 1
        weight, trainable = at[2]['bns'][key]
        assert not trainable and torch.equal(weight, torch.ones_like(weight))


def test_phase_switch_and_drop_path(onestage_run):
    runner, records, messages, _ = onestage_run
    at = {r['epoch']: r for r in records[:-1]}
    # The cap terminates the rest after epoch 3, with a warning.
    assert any('max_search_epochs=3' in m for m in messages)
    assert at[3]['fixed_epoch'] == SEARCH_CAP
    assert at[3]['max_epochs'] == SEARCH_CAP + EVAL_EPOCHS
    assert any(f'Architecture fixed after epoch {SEARCH_CAP}' in m
               for m in messages)
    assert records[-1]['epoch'] == SEARCH_CAP + EVAL_EPOCHS
    # No drop-path while searching; the ramp starts at the switch.
    assert [at[e]['drop_path'] for e in range(4)] == [0.] * 4
    assert at[4]['drop_path'] == pytest.approx(0.1 * 1 / EVAL_EPOCHS)
    # Fixed search lr (the config's 0.05 at batch 64, scaled to the tiny
    # batch of 32 by auto_scale_lr), then a fresh cosine schedule from it.
    assert {at[e]['lr'] for e in range(4)} == {0.05 * 32 / 64}
    assert at[4]['lr'] == pytest.approx(0.05 * 32 / 64 * 0.5)
    # b is out of training once the architecture is fixed.
    assert not any(p.requires_grad
                   for p in runner.model.backbone.architecture_parameters())


@pytest.mark.numerics
def test_exported_model_equals_supernet(onestage_run):
    from mmpretrain import get_model
    runner, _, messages, work_dir = onestage_run
    export = work_dir / 'export'
    assert sorted(p.name for p in export.iterdir()) == [
        'config.py', 'genotype.json', 'genotype_normal.png',
        'genotype_reduce.png', 'model.pth'
    ]
    assert any('Exported the absorbed derived network' in m
               for m in messages)
    # The convergence plot, from the z shifts kept in the message hub.
    assert (work_dir / 'z_convergence.png').read_bytes()[:4] == b'\x89PNG'
    history = runner.message_hub.get_info('architecture_z_shifts')
    assert [r['epoch'] for r in history] == list(range(SEARCH_CAP + 1))
    assert history[2]['normal'][0] is None  # terminated after epoch 1
    exported = get_model(
        str(export / 'config.py'), pretrained=str(export / 'model.pth'))
    assert type(exported).__name__ == 'ImageClassifier'
    assert type(exported.backbone).__name__ == 'DerivedNet'
    assert exported.backbone.genotype == \
        runner.model.backbone.genotype()
    supernet = runner.model.eval()
    exported.eval()
    inputs = torch.randn(4, 3, 32, 32,
                         generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = supernet(inputs, mode='tensor')
        got = exported(inputs, mode='tensor')
    scale = expected.abs().max()
    assert (got - expected).abs().max() <= 1e-4 * scale


def test_progress_log_counts_searching_nodes(onestage_run):
    _, _, messages, work_dir = onestage_run
    assert any('the ETA assumes the longest run' in m for m in messages)
    assert any('[2][1/3]' in m and 'searching_nodes: 7' in m
               for m in messages)
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    per_epoch = {}
    for record in records:
        if 'searching_nodes' in record:
            epoch = (record['step'] - 1) // 3  # 3 iterations per epoch
            per_epoch.setdefault(epoch, set()).add(record['searching_nodes'])
    assert per_epoch[0] == {8} and per_epoch[1] == per_epoch[2] == {7}
    assert all(per_epoch[e] == {0}
               for e in range(SEARCH_CAP, SEARCH_CAP + EVAL_EPOCHS))


@pytest.mark.parametrize('guard, message, fixed', [
    (dict(min_search_epochs=2, min_search_iters=0), 'min_search_epochs=2', 2),
    (dict(min_search_epochs=0, min_search_iters=5), 'min_search_iters=5', 2),
    # a guard beyond the cap (3): the cap terminates every node
    (dict(min_search_epochs=5, min_search_iters=0), 'min_search_epochs=5', 3),
])
def test_no_node_terminates_before_the_guard(tmp_path, guard, message,
                                             fixed):
    """Every z shift passes the test (eps is huge), yet no node terminates
    before the guard (2 epochs, or 5 iterations: 3 run per epoch), and all
    do when it ends, or at the cap if that comes first."""
    cfg = tiny_config(tmp_path, ONESTAGE_DIGITS)
    cfg.merge_from_dict(onestage_options())
    cfg.param_scheduler = dict(weights=[], architecture=[])
    cfg.train_cfg.stages.termination.update(
        eps=1e9, max_search_epochs=3, **guard)
    cfg.train_cfg.stages.phase_switch.eval_epochs = 1
    runner, records, messages = train_and_record(cfg)
    at = {r['epoch']: r for r in records[:-1]}
    for epoch in range(1, fixed):
        assert at[epoch]['terminated'] == dict(
            normal=[-1] * 4, reduce=[-1] * 4)
    assert at[fixed]['terminated'] == dict(
        normal=[fixed] * 4, reduce=[fixed] * 4)
    assert records[-1]['fixed_epoch'] == fixed
    assert runner.epoch == fixed + 1  # the switch, one evaluation epoch
    assert any(f'No node terminates before {message}' in m
               for m in messages)


def test_termination_guard_is_validated():
    with pytest.raises(ValueError, match='min_search_epochs'):
        TerminationHook(min_search_epochs=-1)
    with pytest.raises(ValueError, match='min_search_iters'):
        TerminationHook(min_search_iters=-1)
