# Copyright (c) mmista contributors. All rights reserved.
"""Two-stage search end to end through tools/train.py on tiny digits."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmista.structures import (CANDIDATE_OPS, CELL_TYPES, Genotype,
                               SearchSpaceVariant, read_search_space)
from ..utils import REPO_ROOT, TINY_TRAIN_OPTIONS, run_tool

# twostage_digits.py with TensorBoard next to the JSON scalars.
SEARCH_CONFIG = osp.join(REPO_ROOT, 'configs', 'ista',
                         'twostage_digits_tensorboard.py')
EPOCHS = 3

# 3 cells of C = 4 (64 output channels), 128 digits split 64/64, no random
# augmentation (so that an interrupted run can be replayed exactly), an
# explicit scheduler end (so that stopping early does not change it).
TINY_SEARCH = f"""
_base_ = [{SEARCH_CONFIG!r}]
model = dict(backbone=dict(channels=4, layers=3), head=dict(in_channels=64))
digits = dict(type='DigitsDataset', split='train', indices=128,
              pipeline=[dict(type='PackInputs')])
train_dataloader = dict(batch_size=32, dataset=dict(dataset=digits))
arch_dataloader = dict(batch_size=32, dataset=dict(dataset=digits))
val_dataloader = dict(dataset=dict(indices=64))
param_scheduler = dict(weights=[
    dict(type='CosineAnnealingLR', T_max={EPOCHS}, eta_min=0., by_epoch=True,
         begin=0, end={EPOCHS})
])
train_cfg = dict(max_epochs={EPOCHS}, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""


def write_tiny_search(directory) -> str:
    path = osp.join(str(directory), 'tiny_search.py')
    with open(path, 'w') as file:
        file.write(TINY_SEARCH)
    return path


def search(config, work_dir, *extra):
    return run_tool('tools/train.py', config, '--work-dir', str(work_dir),
                    *extra)


def architecture_state(checkpoint):
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    return {k: v for k, v in state.items() if '.architecture.' in k}


@pytest.fixture(scope='module')
def finished_search(tmp_path_factory):
    """An uninterrupted tiny search: (work_dir, process)."""
    root = tmp_path_factory.mktemp('search')
    config = write_tiny_search(root)
    proc = search(config, root / 'work')
    return root / 'work', proc, config


def assert_valid_genotype(genotype: Genotype):
    for cell in CELL_TYPES:
        edges = getattr(genotype, cell)
        assert len(edges) == 4 * 2
        for i, (op, source) in enumerate(edges):
            node = i // 2
            assert op in CANDIDATE_OPS
            assert 0 <= source < 2 + node


def test_search_writes_genotypes_and_logs(finished_search):
    work_dir, proc, _ = finished_search
    genotype = Genotype.from_json(work_dir / 'genotype.json')
    assert_valid_genotype(genotype)
    per_epoch = [
        Genotype.from_json(work_dir / 'genotypes' / f'epoch_{e}.json')
        for e in range(EPOCHS + 1)
    ]
    for item in per_epoch:
        assert_valid_genotype(item)
    assert per_epoch[-1] == genotype
    # The files record the two-stage variant: no BatchNorm appended to the
    # parameter-free ops (what the retrained network has), pool BatchNorm.
    two_stage = SearchSpaceVariant(
        bn_append=False, pool_bn=True, stem='cifar', affine=False,
        supernet='ISTASuperNet', channels=4, layers=3,
        dataset='DigitsDataset')
    assert read_search_space(str(work_dir / 'genotype.json')) == two_stage
    assert read_search_space(
        str(work_dir / 'genotypes' / f'epoch_{EPOCHS}.json')) == two_stage
    # Every written genotype is drawn too.
    pngs = [work_dir / f'genotype_{c}.png' for c in CELL_TYPES] + [
        work_dir / 'genotypes' / f'epoch_{e}_{c}.png'
        for e in range(EPOCHS + 1) for c in CELL_TYPES
    ]
    pngs.append(work_dir / 'z_convergence.png')
    assert all(p.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' for p in pngs)

    log = proc.stdout + proc.stderr
    for epoch in range(EPOCHS + 1):
        assert f'Architecture recovery after epoch {epoch} ' in log
    assert 'changed nodes: normal' in log and '||b||: normal' in log
    assert 'arch_loss' in log and 'arch_accuracy_top-1' in log
    assert 'loss/cross_entropy' in log and 'accuracy/top1' in log

    scalars_files = list(work_dir.glob('*/vis_data/scalars.json'))
    assert scalars_files
    records = [
        json.loads(line) for line in scalars_files[0].read_text().splitlines()
    ]
    arch = [r for r in records if 'arch/b_norm_normal' in r]
    assert [r['step'] for r in arch] == list(range(EPOCHS + 1))
    norms = [r['arch/b_norm_normal'] for r in arch]
    assert norms[-1] != norms[0]  # b moved

    # The same scalars reach TensorBoard.
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = EventAccumulator(str(scalars_files[0].parent)).Reload()
    tags = events.Tags()['scalars']
    for tag in ('arch/b_norm_normal', 'arch/changed_nodes', 'loss',
                'arch_loss', 'accuracy/top1'):
        assert tag in tags
    assert [e.step for e in events.Scalars('arch/b_norm_normal')
            ] == list(range(EPOCHS + 1))
    assert events.Scalars('arch/b_norm_normal')[-1].value == \
        pytest.approx(norms[-1])


def test_genotype_becomes_an_evaluation_config_that_trains(
        finished_search, tmp_path):
    work_dir, _, _ = finished_search
    out = tmp_path / 'eval_config.py'
    # no --base: the record picks the two-stage digits evaluation config
    proc = run_tool('tools/genotype_to_config.py', str(work_dir), '--out',
                    str(out))
    assert 'Picked the base configs/nets/ista_twostage_digits.py: ' \
        "its model.backbone builds bn_append=False, stem='cifar'" in \
        proc.stdout
    assert 'Train it with: python tools/train.py' in proc.stdout
    cfg = Config.fromfile(str(out))
    searched = Genotype.from_json(work_dir / 'genotype.json')
    assert Genotype.from_json(cfg.model.backbone.genotype) == searched
    assert cfg.model.backbone.bn_append is False
    assert cfg.model.type == 'ImageClassifier'

    train_dir = tmp_path / 'eval'
    run_tool('tools/train.py', str(out), '--work-dir', str(train_dir),
             '--cfg-options', *TINY_TRAIN_OPTIONS)
    assert (train_dir / 'epoch_2.pth').is_file()


def test_genotype_tool_reports_a_bad_genotype(tmp_path):
    bad = tmp_path / 'genotype.json'
    bad.write_text('{"normal": [["conv_9x9", 0]]}')
    proc = run_tool('tools/genotype_to_config.py', str(bad), check=False)
    assert proc.returncode != 0
    assert 'cannot read the genotype' in proc.stderr


@pytest.mark.numerics
def test_resumed_search_continues_the_same_architecture(
        finished_search, tmp_path):
    full_dir, _, config = finished_search
    work_dir = tmp_path / 'interrupted'
    search(config, work_dir, '--cfg-options', 'train_cfg.max_epochs=2')
    assert not (work_dir / 'genotypes' / 'epoch_3.json').exists()
    resumed = search(config, work_dir, '--resume')
    log = resumed.stdout + resumed.stderr
    assert ('Architecture state restored from the checkpoint '
            '(dictionaries of seed 0)') in log

    for epoch in range(EPOCHS + 1):
        name = osp.join('genotypes', f'epoch_{epoch}.json')
        assert Genotype.from_json(work_dir / name) == Genotype.from_json(
            full_dir / name), f'genotype after epoch {epoch} differs'
    resumed_state = architecture_state(work_dir / f'epoch_{EPOCHS}.pth')
    full_state = architecture_state(full_dir / f'epoch_{EPOCHS}.pth')
    assert resumed_state.keys() == full_state.keys()
    # Exact: the resumed run repeats the same computation on the same path.
    for key in full_state:
        assert torch.equal(resumed_state[key], full_state[key]), key


def test_search_without_an_architecture_split_is_refused(tmp_path):
    config = write_tiny_search(tmp_path)
    proc = run_tool('tools/train.py', config, '--work-dir',
                    str(tmp_path / 'w'), '--cfg-options',
                    'arch_dataloader=None', check=False)
    assert proc.returncode != 0
    assert 'TwoStageSearchLoop needs the architecture split' in proc.stderr


def test_dictionaries_follow_the_run_seed(tmp_path):
    """randomness.seed picks the dictionaries and initial b (as the
    reference's --seed does); an explicit arch_seed wins."""
    config = write_tiny_search(tmp_path)

    def architecture(seed, arch_seed=None):
        cfg = Config.fromfile(config)
        cfg.work_dir = str(tmp_path / f'w{seed}_{arch_seed}')
        cfg.randomness = dict(seed=seed)
        cfg.model.backbone.arch_seed = arch_seed
        arch = Runner.from_cfg(cfg).model.backbone.architecture
        return {k: v.clone() for k, v in arch.state_dict().items()
                if k.endswith('dictionaries') or k.startswith('compressed')
                or k == 'dictionary_seed'}

    one, again, two = architecture(1), architecture(1), architecture(2)
    assert int(one['dictionary_seed']) == 1
    assert int(two['dictionary_seed']) == 2
    for key in one:
        assert torch.equal(one[key], again[key]), key  # exact: same draw
        if key != 'dictionary_seed':
            assert not torch.equal(one[key], two[key]), key
    fixed = architecture(2, arch_seed=1)
    assert all(torch.equal(fixed[k], one[k]) for k in one)
