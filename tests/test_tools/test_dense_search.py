# Copyright (c) mmista contributors. All rights reserved.
"""The dense DARTS baseline searched through tools/train.py on tiny digits."""
import json
import os.path as osp

import torch

from mmista.structures import (CELL_TYPES, Genotype, count_ops,
                               describe_op_counts, read_search_space)
from ..utils import REPO_ROOT, run_tool
from .test_twostage_search import assert_valid_genotype

DENSE_CONFIG = osp.join(REPO_ROOT, 'configs', 'dense', 'twostage_digits.py')
EPOCHS = 2

TINY_DENSE = f"""
_base_ = [{DENSE_CONFIG!r}]
model = dict(backbone=dict(channels=4, layers=3), head=dict(in_channels=64))
digits = dict(type='DigitsDataset', split='train', indices=64,
              pipeline=[dict(type='PackInputs')])
train_dataloader = dict(batch_size=16, dataset=dict(dataset=digits))
arch_dataloader = dict(batch_size=16, dataset=dict(dataset=digits))
val_dataloader = dict(dataset=dict(indices=32))
param_scheduler = dict(weights=[
    dict(type='CosineAnnealingLR', T_max={EPOCHS}, eta_min=0., by_epoch=True)
])
train_cfg = dict(max_epochs={EPOCHS}, val_interval={EPOCHS})
default_hooks = dict(logger=dict(interval=1))
"""


def test_dense_search_logs_and_writes_its_genotypes(tmp_path):
    config = tmp_path / 'tiny_dense.py'
    config.write_text(TINY_DENSE)
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', str(config), '--work-dir',
                    str(work_dir))
    log = proc.stdout + proc.stderr

    genotypes = [
        Genotype.from_json(work_dir / 'genotypes' / f'epoch_{e}.json')
        for e in range(1, EPOCHS + 1)
    ]
    for genotype in genotypes:
        assert_valid_genotype(genotype)
    assert Genotype.from_json(work_dir / 'genotype.json') == genotypes[-1]
    variant = read_search_space(str(work_dir / 'genotype.json'))
    assert (variant.supernet, variant.bn_append, variant.pool_bn) == (
        'DenseSuperNet', False, True)
    for cell in CELL_TYPES:
        png = work_dir / 'genotypes' / f'epoch_{EPOCHS}_{cell}.png'
        assert png.read_bytes()[:4] == b'\x89PNG'
    assert 'Genotype (epoch 1; changed nodes: n/a' in log
    assert 'Genotype (epoch 2; changed nodes: normal' in log
    # both halves of the two-stage step ran: the alphas and the weights
    assert 'arch_loss' in log and 'accuracy/top1' in log

    # The genotype is the one the checkpointed alphas give.
    state = torch.load(
        work_dir / f'epoch_{EPOCHS}.pth', map_location='cpu')['state_dict']
    alphas = {k: v for k, v in state.items() if '.alphas.' in k}
    assert len(alphas) == 8
    normal_3 = alphas['backbone.alphas.normal_3'].softmax(-1)
    best, ops = normal_3.max(-1)
    inputs = sorted(best.argsort(descending=True)[:2].tolist())
    assert [source for _, source in genotypes[-1].normal[6:8]] == inputs

    records = [
        json.loads(line) for line in next(
            work_dir.glob('*/vis_data/scalars.json')).read_text().splitlines()
    ]
    assert [r['step'] for r in records if 'arch/changed_nodes' in r] == [2]
    # Every genotype's op counts: one log line and the scalars.
    for epoch, genotype in enumerate(genotypes, 1):
        counts = count_ops(genotype)
        assert (f'Op counts (epoch {epoch}): {describe_op_counts(counts)}'
                in log)
        sent = [r for r in records
                if r['step'] == epoch and 'arch/ops_normal_skip' in r]
        assert len(sent) == 1
        assert sent[0]['arch/ops_reduce_pool'] == sum(
            counts['reduce'][op] for op in ('max_pool_3x3', 'avg_pool_3x3'))
