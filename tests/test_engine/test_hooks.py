# Copyright (c) mmista contributors. All rights reserved.
import io
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from mmista.engine.hooks import (ArchitectureRecoveryHook, DropPathRampHook,
                                 GenotypeLoggerHook)
from mmista.engine.hooks.weights_only_checkpoint_hook import (from_plain,
                                                              to_plain)
from mmista.structures import Genotype, GenotypeError, changed_nodes
from ..utils import tiny_config


def test_drop_path_ramp_in_a_real_run(tmp_path):
    cfg = tiny_config(tmp_path, validate=False)
    cfg.custom_hooks = [dict(type='DropPathRampHook', drop_path_rate=0.3)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    # Set before each epoch e to 0.3 * e / 2; the last epoch is e = 1.
    assert runner.model.backbone.drop_path_prob == pytest.approx(0.15)


def test_drop_path_rate_is_validated():
    with pytest.raises(ValueError, match='drop_path_rate'):
        DropPathRampHook(1.5)


def test_plain_checkpoint_entries_round_trip():
    buffer = HistoryBuffer([1.5, 2.5], [1, 2], max_length=10)
    state = dict(
        message_hub=dict(
            log_scalars=OrderedDict(loss=buffer),
            runtime_info=dict(epoch=np.int64(3), arr=np.arange(3.))),
        meta=dict(seed=np.int32(7), classes=('a', 'b')))
    plain = to_plain(state)
    assert isinstance(plain['message_hub']['log_scalars'], OrderedDict)
    assert plain['meta'] == dict(seed=7, classes=('a', 'b'))
    stream = io.BytesIO()
    torch.save(plain, stream)
    stream.seek(0)
    loaded = torch.load(stream, weights_only=True)
    # The unconverted state is refused by the safe loader ...
    stream = io.BytesIO()
    torch.save(state, stream)
    stream.seek(0)
    with pytest.raises(Exception):
        torch.load(stream, weights_only=True)
    # ... and the converted one restores the history buffers.
    restored = from_plain(loaded['message_hub'])
    rebuilt = restored['log_scalars']['loss']
    assert isinstance(rebuilt, HistoryBuffer)
    assert rebuilt.data[0].tolist() == [1.5, 2.5]
    assert rebuilt.max_length == 10
    assert restored['runtime_info']['epoch'] == 3
    assert restored['runtime_info']['arr'].tolist() == [0., 1., 2.]


def test_changed_nodes_compares_edge_sets():
    concat = [2, 3, 4, 5]
    normal = [('sep_conv_3x3', 0), ('skip_connect', 1)] * 4
    reduce = [('max_pool_3x3', 0), ('max_pool_3x3', 1)] * 4
    before = Genotype(normal, concat, reduce, concat)
    moved = list(normal)
    moved[2:4] = [('skip_connect', 1), ('sep_conv_3x3', 0)]  # same set
    moved[6] = ('dil_conv_5x5', 0)  # node 3 changed
    after = Genotype(moved, concat, reduce, concat)
    assert changed_nodes(before, after) == dict(normal=[3], reduce=[])
    with pytest.raises(GenotypeError, match='cannot compare'):
        changed_nodes(before, Genotype(normal[:6], [2, 3, 4], reduce[:6],
                                       [2, 3, 4]))


def test_genotype_hooks_refuse_a_bad_interval():
    for hook in (ArchitectureRecoveryHook, GenotypeLoggerHook):
        with pytest.raises(ValueError, match='interval must be >= 1'):
            hook(interval=0)
