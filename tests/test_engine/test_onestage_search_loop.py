# Copyright (c) mmista contributors. All rights reserved.
"""OneStageSearchLoop: the stage hooks, their order and their configs."""
import pytest
from mmengine.runner import EpochBasedTrainLoop, Runner

from mmista.engine.hooks import PhaseSwitchHook, TerminationHook
from mmista.engine.runner import ONESTAGE_STAGES, OneStageSearchLoop
from mmista.registry import HOOKS
from ..utils import REPO_ROOT, tiny_config

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'


def build_loop(tmp_path, **stages):
    """A runner of the tiny digits search and its train loop, with
    ``stages`` merged into ``train_cfg.stages``."""
    cfg = tiny_config(tmp_path, ONESTAGE_DIGITS)
    cfg.param_scheduler = dict(weights=[], architecture=[])
    for key, value in stages.items():
        if value is None or key not in cfg.train_cfg.stages:
            cfg.train_cfg.stages[key] = value
        else:
            cfg.train_cfg.stages[key].update(value)
    runner = Runner.from_cfg(cfg)
    return runner, runner.train_loop


def test_stage_hooks_run_in_the_table_order(tmp_path):
    runner, loop = build_loop(tmp_path)
    assert isinstance(loop, OneStageSearchLoop)
    assert [key for key, _ in loop.stage_hooks] == [
        stage.key for stage in ONESTAGE_STAGES
    ]
    # In the runner's hook list (which mmengine calls in order), the stage
    # hooks appear in the table's order.
    stage_types = {HOOKS.get(stage.hook) for stage in ONESTAGE_STAGES}
    in_runner = [
        type(hook).__name__ for hook in runner.hooks
        if type(hook) in stage_types
    ]
    assert in_runner == [stage.hook for stage in ONESTAGE_STAGES]


def test_a_config_overrides_one_field_of_one_stage(tmp_path):
    _, loop = build_loop(tmp_path)
    hooks = dict(loop.stage_hooks)
    # The digits config sets b's learning rate to follow the data (and
    # its cap) ...
    assert hooks['termination'].scale_arch_lr is True
    assert hooks['termination'].max_search_epochs == 20
    # ... and keeps the base schedule's other fields.
    assert hooks['termination'].eps == 1e-3
    assert hooks['termination'].reference_epoch == dict(iters=521, lr=3e-4)
    assert hooks['termination'].min_search_epochs == 0
    assert hooks['phase_switch'].eval_epochs == 10
    assert hooks['phase_switch'].scheduler_cfgs[0]['type'] == \
        'CosineAnnealingLR'
    assert hooks['drop_path'].drop_path_rate == 0.1


def test_an_optional_stage_can_be_left_out(tmp_path):
    _, loop = build_loop(tmp_path, drop_path=None, export=None)
    assert [key for key, _ in loop.stage_hooks] == [
        'recovery', 'termination', 'bn_freeze', 'phase_switch'
    ]


@pytest.mark.parametrize('stages, error, message', [
    (dict(terminate=dict(type='TerminationHook')), KeyError,
     r"unknown keys \['terminate'\]"),
    (dict(recovery=None), KeyError, 'stages.recovery is required'),
    (dict(termination=dict(type='EdgeBNFreezeHook')), TypeError,
     'must build a TerminationHook'),
])
def test_bad_stages_are_refused(tmp_path, stages, error, message):
    with pytest.raises(error, match=message):
        build_loop(tmp_path, **stages)


def test_a_stage_hook_also_in_custom_hooks_is_refused(tmp_path):
    cfg = tiny_config(tmp_path, ONESTAGE_DIGITS)
    cfg.param_scheduler = dict(weights=[], architecture=[])
    cfg.custom_hooks = [dict(type='TerminationHook', eps=1e-3)]
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='in custom_hooks and in '
                       'train_cfg.stages.termination'):
        runner.train_loop


def test_run_length_changes_only_forward(tmp_path):
    _, loop = build_loop(tmp_path)
    loop.set_max_epochs(12)
    assert (loop.max_epochs, loop.max_iters) == (12, 12 * len(loop.dataloader))
    loop._epoch = 5  # as if 5 epochs had trained
    with pytest.raises(ValueError, match='below the 5 epochs'):
        loop.set_max_epochs(4)


def test_phase_switch_needs_the_onestage_loop(tmp_path):
    cfg = tiny_config(tmp_path, ONESTAGE_DIGITS)
    cfg.param_scheduler = dict(weights=[], architecture=[])
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2)
    runner = Runner.from_cfg(cfg)
    assert type(runner.train_loop) is EpochBasedTrainLoop
    hook = PhaseSwitchHook(eval_epochs=1, param_scheduler=[])
    with pytest.raises(TypeError, match='OneStageSearchLoop'):
        hook.before_train(runner)


def test_termination_records_its_threshold_for_the_plot(tmp_path):
    runner, _ = build_loop(tmp_path)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    TerminationHook(eps=2e-3).before_train(runner)
    assert runner.message_hub.get_info('search/termination_eps') == 2e-3
