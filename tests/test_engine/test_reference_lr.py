# Copyright (c) mmista contributors. All rights reserved.
"""The ImageNet evaluation's learning rate, epoch by epoch: mmista's
schedule as docs/en/notes/reference_differences.md describes it, and the
override given there, which is the reference's ``adjust_lr`` with its
warm-up (``tools/evaluation_imagenet.py`` of iboing/ISTA-NAS)."""
from typing import List

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope

from ..utils import REPO_ROOT

LR, EPOCHS, BATCH = 0.5, 250, 1024

#: The override of reference_differences.md.
REFERENCE_SCHEDULE = [
    dict(
        type='LinearLR',
        start_factor=0.2,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=5),
    dict(
        type='LinearLR',
        start_factor=240 / 245,
        end_factor=1 / 245,
        by_epoch=True,
        begin=5,
        end=245),
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.2,
        by_epoch=True,
        begin=245,
        end=250),
]


def reference_lr(epoch: int) -> float:
    """The reference's ``adjust_lr``, then its warm-up for batches above
    256, written out."""
    if EPOCHS - epoch > 5:
        lr = LR * (EPOCHS - 5 - epoch) / (EPOCHS - 5)
    else:
        lr = LR * (EPOCHS - epoch) / ((EPOCHS - 5) * 5)
    if epoch < 5 and BATCH > 256:
        lr = LR * (epoch + 1) / 5.0
    return lr


def epoch_lrs(schedule: List[dict], epoch_length: int = 1) -> List[float]:
    """The learning rate of the first iteration of every epoch."""
    init_default_scope('mmista')
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=LR)
    schedulers = [
        PARAM_SCHEDULERS.build(
            dict(cfg, optimizer=optimizer),
            default_args=dict(epoch_length=epoch_length)) for cfg in schedule
    ]
    lrs = []
    for _ in range(EPOCHS):
        lrs.append(optimizer.param_groups[0]['lr'])
        for _ in range(epoch_length):
            optimizer.step()  # no gradient: only the order torch expects
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
    return lrs


def test_override_is_the_reference_schedule():
    lrs = epoch_lrs(REFERENCE_SCHEDULE)
    assert lrs == pytest.approx([reference_lr(e) for e in range(EPOCHS)],
                                rel=1e-12,
                                abs=1e-15)
    assert lrs[:5] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert lrs[249] == pytest.approx(LR / 1225)


def test_mmista_imagenet_evaluation_schedule():
    """Epoch 5 on: one line from 0.5 to 0 in the last epoch."""
    cfg = Config.fromfile(
        f'{REPO_ROOT}/configs/nets/ista_onestage_imagenet.py')
    lrs = epoch_lrs(cfg.param_scheduler, epoch_length=4)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[5:] == pytest.approx(
        [LR * (249 - e) / 244 for e in range(5, EPOCHS)], abs=1e-12)
    assert lrs[249] == 0.
    gap = [m - reference_lr(e) for e, m in enumerate(lrs)][5:245]
    assert gap == pytest.approx(
        [LR * (1225 - e) / 59780 for e in range(5, 245)], abs=1e-12)
