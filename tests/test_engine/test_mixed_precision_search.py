# Copyright (c) mmista contributors. All rights reserved.
"""A one-stage search under bfloat16 mixed precision in a real Runner: the
recovery, the BN absorption and the export stay in float32/float64, and
the export equals the super-net."""
import argparse

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook

from mmista.cli import build_runner
from mmista.registry import HOOKS
from mmista.sparse_coding.solver_registry import (get_lasso_solver,
                                                  register_lasso_solver)
from ..utils import ONESTAGE_DIGITS, TINY_ONESTAGE, logged_records

#: What every LASSO solve of the run was given: (A dtype, b dtype,
#: autocast on the CPU enabled).
SOLVES = []


@register_lasso_solver('_amp_recording')
def _recording_homotopy(A, b, lam, num_cols, **options):
    """The native solver, recording its inputs' dtypes and autocast."""
    SOLVES.append((A.dtype, b.dtype, torch.is_autocast_enabled('cpu')))
    return get_lasso_solver('homotopy')[1](A, b, lam, num_cols, **options)


@HOOKS.register_module()
class _PrecisionRecordHook(Hook):
    """Records, where the recovery and the export run, whether autocast is
    on and the dtypes of the architecture state and the parameters."""

    priority = 'LOW'  # the export's

    def __init__(self):
        self.records = []

    def _record(self, where, runner):
        # b (float32), the dictionaries, z, the supports' weights and the z
        # shifts (float64)
        state = runner.model.backbone.architecture.state_dict()
        self.records.append(
            dict(where=where,
                 autocast=torch.is_autocast_enabled('cpu'),
                 architecture={
                     key: t.dtype
                     for key, t in state.items() if t.is_floating_point()
                 },
                 params={p.dtype for p in runner.model.parameters()}))

    def before_train_epoch(self, runner):
        self._record('before_train_epoch', runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self._record('after_train_iter', runner)

    def after_train(self, runner):
        self._record('after_train', runner)


@pytest.fixture(scope='module')
def amp_run(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('amp_onestage')
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    cfg.merge_from_dict(
        parser.parse_args(['--options', *TINY_ONESTAGE]).options)
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.solver = '_amp_recording'
    cfg.amp = dict(dtype='bfloat16')
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='_PrecisionRecordHook')
    ]
    SOLVES.clear()
    runner = build_runner(cfg)
    with logged_records(runner.logger) as records:
        runner.train()
    recorder = next(h for h in runner.hooks
                    if isinstance(h, _PrecisionRecordHook))
    return runner, recorder.records, [r.getMessage() for r in records], \
        work_dir


def test_search_trains_both_wrappers_under_bfloat16(amp_run):
    runner, _, messages, _ = amp_run
    wrappers = runner.optim_wrapper
    for part in ('weights', 'architecture'):
        assert type(wrappers[part]).__name__ == 'MixedPrecisionOptimWrapper'
        assert wrappers[part].cast_dtype == torch.bfloat16
        assert wrappers[part].name == part  # the finite checks' name
    assert runner.epoch == 2  # one search epoch (the cap), one evaluation
    assert any('Exported the absorbed derived network' in m
               for m in messages)


def test_recovery_and_hooks_run_outside_autocast_in_float32(amp_run):
    _, records, _, _ = amp_run
    assert SOLVES  # the initial recovery and the one after the search
    assert set(SOLVES) == {(np.dtype('float64'), np.dtype('float64'), False)}
    assert {r['where'] for r in records} == {
        'before_train_epoch', 'after_train_iter', 'after_train'}
    first = records[0]['architecture']  # before the first step
    assert set(first.values()) == {torch.float32, torch.float64}
    assert {first[k] for k in first if 'compressed' in k} == {torch.float32}
    assert {first[k] for k in first if 'dictionar' in k} == {torch.float64}
    for record in records:
        assert record['autocast'] is False, record
        assert record['architecture'] == first, record
        assert record['params'] == {torch.float32}, record


@pytest.mark.numerics
def test_export_of_an_amp_run_equals_the_supernet_in_float32(amp_run):
    from mmpretrain import get_model
    runner, _, _, work_dir = amp_run
    export = work_dir / 'export'
    state = torch.load(export / 'model.pth', map_location='cpu')
    floats = {t.dtype for t in state['state_dict'].values()
              if t.is_floating_point()}
    assert floats == {torch.float32}
    exported = get_model(
        str(export / 'config.py'), pretrained=str(export / 'model.pth'))
    assert exported.backbone.genotype == runner.model.backbone.genotype()
    supernet = runner.model.eval()
    exported.eval()
    inputs = torch.randn(4, 3, 32, 32,
                         generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = supernet(inputs, mode='tensor')
        got = exported(inputs, mode='tensor')
    assert expected.dtype == got.dtype == torch.float32
    scale = expected.abs().max()
    assert (got - expected).abs().max() <= 1e-4 * scale
