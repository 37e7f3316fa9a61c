# Copyright (c) mmista contributors. All rights reserved.
"""An interrupted and resumed one-stage search retraces the uninterrupted
one: same genotype after every epoch, same final architecture and
weights."""
import pytest
import torch

from mmista.structures import Genotype
from ..utils import REPO_ROOT, run_tool

pytestmark = pytest.mark.numerics

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
# Tiny network, random crops kept; search capped at 3 epochs, 2 more of
# evaluation training: the run ends after epoch 5.
OPTIONS = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64', 'train_dataloader.batch_size=32',
    'train_dataloader.dataset.indices=96', 'val_dataloader.dataset.indices=64',
    'train_cfg.val_interval=1',
    'train_cfg.stages.termination.max_search_epochs=3',
    'train_cfg.stages.export.check_learned=False',
    'train_cfg.stages.phase_switch.eval_epochs=2',
    'train_cfg.stages.drop_path.drop_path_rate=0.2',
    'default_hooks.checkpoint.max_keep_ckpts=-1'
]
FINAL_EPOCH = 5


def train(work_dir, *extra):
    return run_tool('tools/train.py', ONESTAGE_DIGITS, '--work-dir',
                    str(work_dir), *extra)


@pytest.mark.parametrize('stop_after', [2, 4])
def test_resume_retraces_the_uninterrupted_search(tmp_path, stop_after):
    """Interrupted in the search phase (after epoch 2) or in the
    evaluation phase (after epoch 4, past the switch at 3)."""
    full = tmp_path / 'full'
    train(full, '--cfg-options', *OPTIONS)
    parts = tmp_path / 'parts'
    if stop_after < 3:
        # Stopped by its length before the switch; resumed from the latest
        # checkpoint.
        train(parts, '--cfg-options', *OPTIONS,
              f'train_cfg.max_epochs={stop_after}')
        proc = train(parts, '--resume', '--cfg-options', *OPTIONS)
    else:
        # After the switch the run's length is the hook's: a run killed
        # after epoch `stop_after` leaves the uninterrupted run's
        # checkpoint of that epoch, which stands in for it.
        parts.mkdir()
        checkpoint = parts / f'epoch_{stop_after}.pth'
        checkpoint.write_bytes(
            (full / f'epoch_{stop_after}.pth').read_bytes())
        proc = train(parts, '--resume', str(checkpoint), '--cfg-options',
                     *OPTIONS)
    assert f'resumed epoch: {stop_after}' in proc.stdout + proc.stderr

    for epoch in range(stop_after, FINAL_EPOCH + 1):
        name = f'genotypes/epoch_{epoch}.json'
        if (full / name).exists():
            assert Genotype.from_json(parts / name) == Genotype.from_json(
                full / name), name
    full_state = torch.load(full / f'epoch_{FINAL_EPOCH}.pth')['state_dict']
    part_state = torch.load(parts / f'epoch_{FINAL_EPOCH}.pth')['state_dict']
    assert int(part_state['backbone.architecture.fixed_epoch']) == 3
    # Exact: the resumed run repeats the uninterrupted run's computation on
    # the same path (same kernels, same per-epoch seeds).
    assert part_state.keys() == full_state.keys()
    for key, value in full_state.items():
        assert torch.equal(part_state[key], value), key
