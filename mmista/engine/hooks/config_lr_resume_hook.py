# Copyright (c) mmista contributors. All rights reserved.
"""Resume with the learning rates of the config, not of the checkpoint."""
import warnings
from typing import Dict, List

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict

from mmista.errors import ConfigError
from mmista.registry import HOOKS


def _per_optimizer(value) -> Dict[str, object]:
    """Schedulers or optimizer states by optimizer name: a dict of them as
    it is, the entry of a single optimizer under ``''``."""
    if value is None:
        return {}
    if isinstance(value, OptimWrapperDict):
        return dict(value.items())
    if isinstance(value, dict) and 'param_groups' not in value:
        return dict(value)
    return {'': value}


@HOOKS.register_module()
class ConfigLRResumeHook(Hook):
    """Makes a resumed run follow the config's learning-rate settings.

    mmengine's resume restores each optimizer's parameter groups (learning
    rate, momentum, weight decay, ...) and the param schedulers' state from
    the checkpoint, so a learning rate lowered in the config after a run
    diverged would not take effect. ``tools/train.py --resume
    --lr-from-config`` adds this hook: the optimizers' hyper-parameters and
    the schedulers become those of a run that had used the config from its
    start, advanced to the checkpoint's position (each scheduler stepped as
    often as the checkpoint's was), while everything else (weights,
    momentum and Adam moments, the architecture, the position, the random
    state) is resumed.

    Runs after :class:`~mmista.engine.PhaseSwitchHook`, which installs the
    evaluation schedulers of a checkpoint past the switch.
    """

    priority = 'VERY_LOW'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rewrites the optimizer and scheduler entries the runner is about
        to restore."""
        if not runner.cfg.get('resume') or 'optimizer' not in checkpoint:
            return
        saved = _per_optimizer(checkpoint.get('param_schedulers'))
        for name, schedulers in _per_optimizer(
                runner.param_schedulers).items():
            states = saved.get(name, [])
            if len(states) != len(schedulers):
                raise ConfigError(
                    f'--lr-from-config: the config has {len(schedulers)} '
                    f'param scheduler(s) for the {name or "only"} '
                    f'optimizer, the checkpoint {len(states)}; the config '
                    'may change their values, not their number')
            for scheduler, state in zip(schedulers, states):
                # as many steps as the checkpoint's scheduler took (before
                # any optimizer step: mmengine's order warning does not
                # apply)
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore', UserWarning)
                    while scheduler._global_step < state['_global_step']:
                        scheduler.step()
            states[:] = [scheduler.state_dict() for scheduler in schedulers]
        changes = self._take_hyper_parameters(runner, checkpoint)
        runner.logger.info(
            '--lr-from-config: learning rates and optimizer settings from '
            'the config at the resumed position: ' + '; '.join(changes))

    @staticmethod
    def _take_hyper_parameters(runner, checkpoint: dict) -> List[str]:
        """Copies the live optimizers' group settings into the checkpoint's
        optimizer states; returns what the learning rates became."""
        states = _per_optimizer(checkpoint['optimizer'])
        changes = []
        for name, wrapper in _per_optimizer(runner.optim_wrapper).items():
            state = states.get(name)
            if state is None:
                continue
            groups = wrapper.optimizer.param_groups
            if len(groups) != len(state['param_groups']):
                raise ConfigError(
                    f'--lr-from-config: the {name or "only"} optimizer has '
                    f'{len(groups)} parameter groups, the checkpoint '
                    f"{len(state['param_groups'])}")
            for group, saved_group in zip(groups, state['param_groups']):
                before = saved_group.get('lr')
                saved_group.update(
                    {k: v
                     for k, v in group.items() if k != 'params'})
                changes.append(f'{name or "optimizer"} lr {before:g} -> '
                               f"{saved_group['lr']:g}")
        return changes
