# Copyright (c) mmista contributors. All rights reserved.
"""The termination rule's arithmetic: the threshold scales with b's spread
since the last recovery, the test waits for one reference epoch of travel
and for a loss below chance; on the reference's CIFAR-10 epoch it is the
reference's test exactly."""
import math

import pytest
from mmengine.runner import Runner

from mmista.engine.architecture_travel import (MAX_PAIRS, ArchitectureTravel,
                                               reference_spread,
                                               reference_travel, spread_of,
                                               travel_of)
from mmista.engine.hooks import TerminationHook
from mmista.engine.learning_check import (EPOCH_LOSS, chance_accuracy_bound,
                                          near_chance_loss)
from mmista.errors import ConfigError
from ..utils import REPO_ROOT, tiny_config

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
REFERENCE = dict(iters=521, lr=3e-4)


@pytest.fixture
def runner(tmp_path):
    """A built runner of the tiny digits search (10 classes)."""
    cfg = tiny_config(tmp_path, ONESTAGE_DIGITS)
    cfg.param_scheduler = dict(weights=[], architecture=[])
    # a message hub of its own: runners built in the same second would
    # share one (it is named after the timestamp)
    cfg.experiment_name = f'clock_{tmp_path.name}'
    runner = Runner.from_cfg(cfg)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    return runner


def steps(runner, lr, count):
    travel = ArchitectureTravel(runner)
    for _ in range(count):
        travel.record_step(lr)
    return travel


def test_reference_epoch_gives_the_reference_test_exactly(runner):
    """521 steps at 3e-4 (one CIFAR-10 epoch of batch 96): the threshold is
    1e-3 to the bit and the travel guard has passed after that epoch, not
    before."""
    hook = TerminationHook()
    runner.message_hub.update_info(EPOCH_LOSS, 1.5)  # below 0.75 ln 10
    travel = steps(runner, 3e-4, 520)
    assert 'less than one reference epoch' in hook._held(runner, travel)
    travel = steps(runner, 3e-4, 1)
    assert hook._threshold(travel) == 1e-3
    assert hook._held(runner, travel) is None
    assert travel.total() == pytest.approx(521 * 3e-4, rel=1e-13)


def test_threshold_follows_the_spread_of_b(runner):
    """The digits: 23 steps at 3e-4 x 521 / 23: eps x sqrt(521 / 23)."""
    hook = TerminationHook()
    lr = 3e-4 * 521 / 23
    travel = steps(runner, lr, 23)
    assert hook._threshold(travel) == pytest.approx(
        1e-3 * math.sqrt(521 / 23), rel=1e-12)
    assert hook._threshold(travel) == pytest.approx(4.76e-3, abs=1e-5)
    # a recovery starts the next interval from zero; the total goes on
    travel.start_interval()
    assert travel.spread_since_recovery() == 0
    assert travel.total() == pytest.approx(3e-4 * 521)
    # two learning rates: the spread adds their squares
    steps(runner, 1e-3, 4)
    steps(runner, 2e-3, 9)
    assert travel.spread_since_recovery() == pytest.approx(
        math.sqrt(4e-6 + 9 * 4e-6))
    # two processes, lr doubled, about half the steps: about sqrt(2)
    # times the spread
    assert spread_of([[2 * lr, 12]]) / spread_of([[lr, 23]]) == \
        pytest.approx(2 * math.sqrt(12 / 23))
    assert travel_of([[lr, 23]]) == pytest.approx(reference_travel(REFERENCE))
    assert reference_spread(REFERENCE) == pytest.approx(3e-4 * math.sqrt(521))


def test_a_learning_rate_that_changes_every_step(runner):
    """Pairs are merged past MAX_PAIRS, keeping the spread."""
    lrs = [1e-3 * (1 + i / 100) for i in range(300)]
    travel = ArchitectureTravel(runner)
    for lr in lrs:
        travel.record_step(lr)
    assert len(runner.message_hub.get_info(
        'search/b_travel_since_recovery')) <= MAX_PAIRS + 1
    assert travel.spread_since_recovery() == pytest.approx(
        math.sqrt(sum(lr * lr for lr in lrs)), rel=1e-12)
    assert travel.total() == pytest.approx(sum(lrs), rel=1e-12)


def test_a_fixed_threshold_without_a_reference(runner):
    hook = TerminationHook(eps=2e-3, reference_epoch=None)
    travel = steps(runner, 1e-2, 3)
    assert hook._threshold(travel) == 2e-3
    runner.message_hub.update_info(EPOCH_LOSS, 1.0)
    assert hook._held(runner, travel) is None  # no travel guard


def test_a_loss_near_chance_holds_the_test(runner):
    hook = TerminationHook()
    travel = steps(runner, 3e-4, 521)
    runner.message_hub.update_info(EPOCH_LOSS, 2.07)  # ln 10 = 2.303
    reason = hook._held(runner, travel)
    assert 'training loss 2.07 is near chance' in reason
    assert 'below 1.727' in reason  # 0.75 ln 10
    runner.message_hub.update_info(EPOCH_LOSS, 1.7)
    assert hook._held(runner, travel) is None
    # chance_margin=0 turns the guard off
    runner.message_hub.update_info(EPOCH_LOSS, 2.3)
    assert TerminationHook(chance_margin=0)._held(runner, travel) is None


def test_scale_arch_lr_sets_b_lr_from_the_iterations(runner):
    hook = TerminationHook(scale_arch_lr=True)
    hook.before_train(runner)
    iters = len(runner.train_dataloader)  # 96 images in batches of 32
    assert iters == 3
    group = runner.optim_wrapper['architecture'].optimizer.param_groups[0]
    assert group['lr'] == pytest.approx(3e-4 * 521 / 3)


def test_chance_bounds():
    assert near_chance_loss(1.05, 4, 0.25)  # ln 4 = 1.386
    assert not near_chance_loss(1.0, 4, 0.25)
    assert near_chance_loss(float('nan'), 4, 0.25)
    # guessing among 4 classes on 80 images: 25% +- 4.84%
    assert chance_accuracy_bound(4, 80) == pytest.approx(
        100 * (0.25 + 3 * math.sqrt(0.25 * 0.75 / 80)))
    assert chance_accuracy_bound(10, 360) == pytest.approx(14.74, abs=0.01)


@pytest.mark.parametrize('kwargs, message', [
    (dict(reference_epoch=dict(iters=521)), 'reference_epoch must be dict'),
    (dict(reference_epoch=dict(iters=0, lr=3e-4)), 'positive integer'),
    (dict(chance_margin=1.0), 'chance_margin must be a number in'),
    (dict(scale_arch_lr='yes'), 'scale_arch_lr must be True or False'),
    (dict(scale_arch_lr=True, reference_epoch=None), 'needs a reference'),
])
def test_bad_settings_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message) as error:
        TerminationHook(**kwargs)
    assert 'train_cfg.stages.termination' in str(error.value)


def test_the_cifar10_config_runs_the_reference_test():
    """configs/ista/onestage_cifar10.py: 50,000 images in batches of 96 at
    Adam lr 3e-4 are the reference epoch, so the clock's threshold is 1e-3
    after every epoch; no loss guard, b's configured learning rate."""
    from mmengine.config import Config
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/ista/onestage_cifar10.py')
    termination = cfg.train_cfg.stages.termination
    hook = TerminationHook(
        **{k: v
           for k, v in termination.items() if k != 'type'})
    assert hook.eps == 1e-3 and hook.chance_margin == 0
    assert hook.reference_epoch == REFERENCE and not hook.scale_arch_lr
    assert math.ceil(50_000 / cfg.train_dataloader.batch_size) == 521
    assert cfg.train_dataloader.get('drop_last', False) is False
    assert cfg.optim_wrapper.architecture.optimizer.lr == 3e-4
