# Copyright (c) mmista contributors. All rights reserved.
"""The expected duration a run logs before its first iteration: its
arithmetic, and a run left exactly as it is without it."""
import argparse
import logging
import random
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmista.engine.hooks import DurationEstimateHook
from mmista.engine.hooks.duration_estimate_hook import (count_validations,
                                                        format_duration)
from ..utils import ONESTAGE_DIGITS, TINY_ONESTAGE, logged_records

ESTIMATE = re.compile(r'Expected duration: (at most )?(.+?) \((\d+) '
                      r'iterations of ([0-9.]+) s')


@pytest.mark.parametrize('seconds, text', [(0.4, '0 s'), (59, '59 s'),
                                           (61, '1 min'), (3599, '59 min'),
                                           (3660, '1 h 01 min'),
                                           (97200, '1 d 03 h')])
def test_durations_read_as_a_person_reads_them(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    'done, total, begin, interval, expected',
    [
        (0, 10, 1, 1, 10),
        (0, 10, 1, 3, 4),  # 3, 6, 9 and the last
        (0, 10, 1, 5, 2),  # 5, 10
        (0, 900, 1, 10, 90),  # the one-stage CIFAR search's bound
        (4, 10, 1, 5, 2),  # resumed after epoch 4: 5, 10
        (0, 10, 7, 2, 2),  # 8, 10
        (0, 10, 7, 4, 2),  # 8 and the last
        (10, 10, 1, 1, 0),
    ])
def test_validations_left_as_mmengine_loops_run_them(done, total, begin,
                                                     interval, expected):
    assert count_validations(done, total, begin, interval) == expected
    # the loop's own rule, step by step
    assert expected == sum(
        1 for step in range(done + 1, total + 1)
        if step >= begin and (step % interval == 0 or step == total))


def tiny_onestage(work_dir, **hook) -> Config:
    """The tiny one-stage digits search (two epochs), with the estimate's
    arguments."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    options = parser.parse_args(['--options', *TINY_ONESTAGE]).options
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    cfg.merge_from_dict(options)
    cfg.merge_from_dict({
        'train_cfg.max_epochs': 2,
        'train_cfg.val_interval': 1,
        'train_dataloader.num_workers': 0,
        'val_dataloader.num_workers': 0,
        'default_hooks.checkpoint.interval': 100,
        'default_hooks.checkpoint.save_last': False,
        'val_dataloader.dataset.indices': 32,
    })
    cfg.train_cfg.stages.export = None
    cfg.merge_from_dict({
        f'default_hooks.duration_estimate.{k}': v
        for k, v in hook.items()
    })
    cfg.work_dir = str(work_dir)
    return cfg


def train(cfg):
    """Trains a config; returns the runner and every logged record."""
    runner = Runner.from_cfg(cfg)
    with logged_records(runner.logger) as records:
        runner.train()
    return runner, records


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """The same tiny search without the estimate, and with it set to warn
    above 1 ms."""
    without = train(
        tiny_onestage(tmp_path_factory.mktemp('without'), enable=False))
    with_it = train(
        tiny_onestage(tmp_path_factory.mktemp('with'), warn_above_s=1e-3))
    return without, with_it


def test_the_estimate_leaves_the_run_as_it_is(runs):
    (plain, _), (estimated, _) = runs
    weights, others = plain.model.state_dict(), estimated.model.state_dict()
    assert weights.keys() == others.keys()
    for key, value in weights.items():  # weights, BN statistics, b, flags
        assert torch.equal(value, others[key]), key
    # the same logged values, none added (the copy's steps log elsewhere)
    for key in ('train/loss', 'train/grad_norm', 'val/accuracy/top1'):
        history = plain.message_hub.get_scalar(key).data[0]
        assert np.array_equal(
            history,
            estimated.message_hub.get_scalar(key).data[0]), key
    for name in ('weights', 'architecture'):
        state = plain.optim_wrapper[name].state_dict()['state']
        other = estimated.optim_wrapper[name].state_dict()['state']
        assert state.keys() == other.keys()
        for index, entries in state.items():
            for key, value in entries.items():
                assert torch.equal(
                    torch.as_tensor(value), torch.as_tensor(other[index][key]))


def test_the_estimate_is_logged_and_warns_above_its_threshold(runs):
    (_, plain_log), (runner, log) = runs
    messages = [record.getMessage() for record in log]
    lines = [m for m in messages if m.startswith('Expected duration')]
    assert len(lines) == 1
    found = ESTIMATE.match(lines[0])
    assert found, lines[0]
    # one-stage: an upper bound over max_epochs (2) x 3 iterations
    assert found.group(1) == 'at most '
    assert int(found.group(3)) == 2 * len(runner.train_dataloader) == 6
    # near the iterations' own time (the first step, timed alone here,
    # is the slowest)
    logged = [
        float(t) for t in re.findall(r'Epoch\(train\).* time: ([0-9.]+)',
                                     '\n'.join(messages))
    ]
    assert len(logged) == 6
    assert 0.2 < float(found.group(4)) / np.mean(logged) < 5
    warnings = [
        r.getMessage() for r in log if r.levelno == logging.WARNING
        and r.getMessage().startswith('This run is expected to take')
    ]
    assert len(warnings) == 1
    assert 'more than 0 s. For a shorter one:' in warnings[0]
    assert 'train_cfg.stages.phase_switch.eval_epochs=N' in warnings[0]
    # the estimate comes before the first iteration
    first_iter = next(i for i, m in enumerate(messages)
                      if m.startswith('Epoch(train)'))
    assert messages.index(lines[0]) < first_iter
    # turned off: no line
    plain_messages = [record.getMessage() for record in plain_log]
    assert not [m for m in plain_messages if 'Expected duration' in m]


def test_the_estimate_touches_no_state(tmp_path):
    """Straight after the hook: the random streams, the model, its
    optimizers and the message hub are those before it."""
    runner = Runner.from_cfg(tiny_onestage(tmp_path, enable=False))
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner._val_loop = runner.build_val_loop(runner._val_loop)
    states = (random.getstate(), np.random.get_state()[1].copy(),
              torch.get_rng_state())
    model = {k: v.clone() for k, v in runner.model.state_dict().items()}
    scalars = set(runner.message_hub.log_scalars)
    DurationEstimateHook(timed_iters=1, quick_below_s=0).before_train(runner)
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, model[key]), key
    assert all(p.grad is None for p in runner.model.parameters())
    assert runner.optim_wrapper['weights'].optimizer.state == {}
    assert set(runner.message_hub.log_scalars) == scalars


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='timed_iters >= 1'):
        DurationEstimateHook(timed_iters=0)
