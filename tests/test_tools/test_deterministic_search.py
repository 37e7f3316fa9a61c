# Copyright (c) mmista contributors. All rights reserved.
"""Two one-stage searches in deterministic mode with the same seed end
with the same weights, bit for bit, and recover the same genotypes."""
import pytest
import torch

from mmista.structures import Genotype
from ..utils import ONESTAGE_DIGITS, run_tool

pytestmark = pytest.mark.numerics

# Tiny network on 96 digits: 2 search epochs (the cap), 1 evaluation epoch.
OPTIONS = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64', 'model.head.aux_in_channels=64',
    'train_dataloader.batch_size=32', 'train_dataloader.dataset.indices=96',
    'val_dataloader.dataset.indices=64', 'train_cfg.val_interval=1',
    'train_cfg.max_epochs=3',
    'train_cfg.stages.termination.max_search_epochs=2',
    'train_cfg.stages.phase_switch.eval_epochs=1',
    'train_cfg.stages.export.check_learned=False',
    'randomness.seed=3', 'randomness.deterministic=True'
]
FINAL_EPOCH = 3


def test_deterministic_runs_are_identical(tmp_path):
    runs = [tmp_path / 'first', tmp_path / 'second']
    for work_dir in runs:
        proc = run_tool('tools/train.py', ONESTAGE_DIGITS, '--work-dir',
                        str(work_dir), '--cfg-options', *OPTIONS, threads=1)
        log = proc.stdout + proc.stderr
        assert 'Deterministic mode (randomness.deterministic=True)' in log
        assert 'CUBLAS_WORKSPACE_CONFIG=' in log
        assert 'deterministic: True' in log  # mmengine's runtime setting
    first, second = runs
    genotypes = sorted(p.name for p in (first / 'genotypes').glob('*.json'))
    assert genotypes == [f'epoch_{e}.json' for e in range(FINAL_EPOCH)]
    for name in genotypes:
        assert Genotype.from_json(first / 'genotypes' / name) == \
            Genotype.from_json(second / 'genotypes' / name), name
    states = [
        torch.load(run / f'epoch_{FINAL_EPOCH}.pth')['state_dict']
        for run in runs
    ]
    assert int(states[0]['backbone.architecture.fixed_epoch']) == 2
    assert states[0].keys() == states[1].keys()
    for key, value in states[0].items():
        assert torch.equal(states[1][key], value), key
