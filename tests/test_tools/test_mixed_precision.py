# Copyright (c) mmista contributors. All rights reserved.
"""``tools/train.py --amp`` on the CPU (bfloat16): a two-stage search, the
evaluation training of a derived network, the NaN/inf protection kept, and
a dtype the device cannot do refused in one line."""
import json
import math

import pytest
import torch

from mmista.structures import Genotype
from ..utils import DIGITS_EVAL_CONFIG, ONE_EPOCH, run_tool
from .test_non_finite import error_line
from .test_twostage_search import (EPOCHS, assert_valid_genotype,
                                   write_tiny_search)

NO_CUDA = pytest.mark.skipif(
    torch.cuda.is_available(), reason='--amp picks float16 on CUDA')


def float_dtypes(checkpoint) -> set:
    """The dtypes of the network's floating-point state (the
    architecture's float64 buffers left out)."""
    state = torch.load(checkpoint, map_location='cpu',
                       weights_only=True)['state_dict']
    return {
        v.dtype
        for k, v in state.items()
        if v.is_floating_point() and '.architecture.' not in k
    }


def scalars(work_dir):
    path = next(work_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in path.read_text().splitlines()]


@NO_CUDA
def test_amp_twostage_search(tmp_path):
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', write_tiny_search(tmp_path),
                    '--work-dir', str(work_dir), '--amp')
    log = proc.stdout + proc.stderr
    assert 'mixed precision: bfloat16 autocast on cpu (2 optimizer ' \
        'wrappers)' in log
    assert_valid_genotype(Genotype.from_json(work_dir / 'genotype.json'))
    for epoch in range(EPOCHS + 1):
        assert f'Architecture recovery after epoch {epoch} ' in log
    records = scalars(work_dir)
    arch_losses = [r['arch_loss'] for r in records if 'arch_loss' in r]
    losses = [r['loss'] for r in records if 'loss' in r]
    assert arch_losses and losses
    assert all(math.isfinite(v) for v in arch_losses + losses)
    norms = [r['arch/b_norm_normal'] for r in records
             if 'arch/b_norm_normal' in r]
    assert norms[-1] != norms[0]  # b trained under autocast
    assert float_dtypes(work_dir / f'epoch_{EPOCHS}.pth') == {torch.float32}


@NO_CUDA
def test_amp_evaluation_training_of_a_derived_network(tmp_path):
    work_dir = tmp_path / 'eval'
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(work_dir), '--amp', 'bfloat16', '--cfg-options',
                    *ONE_EPOCH)
    log = proc.stdout + proc.stderr
    assert 'mixed precision: bfloat16 autocast on cpu (1 optimizer ' \
        'wrapper)' in log
    assert "type='DerivedNet'" in log
    accuracy = [r['accuracy/top1'] for r in scalars(work_dir)
                if 'accuracy/top1' in r]
    assert len(accuracy) == 1 and 0 <= accuracy[0] <= 100
    assert float_dtypes(work_dir / 'epoch_1.pth') == {torch.float32}


@NO_CUDA
def test_amp_keeps_the_finite_loss_protection(tmp_path):
    work_dir = tmp_path / 'diverged'
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(work_dir), '--amp', '--cfg-options', *ONE_EPOCH,
                    'optim_wrapper.optimizer.lr=1e38', check=False)
    line = error_line(proc)
    assert 'before the SGD optimizer stepped on it' in line
    assert not (work_dir / 'epoch_1.pth').exists()


@NO_CUDA
def test_amp_float16_on_the_cpu_says_to_use_bfloat16(tmp_path):
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(tmp_path / 'fp16'), '--amp', 'float16',
                    '--cfg-options', *ONE_EPOCH, check=False)
    assert error_line(proc) == (
        'error: amp: float16 mixed precision needs a CUDA device: on the '
        'CPU use bfloat16 (or leave the dtype out)')
