# Copyright (c) mmista contributors. All rights reserved.
"""What to do when a run diverged: where to continue from, and how."""
import os.path as osp
import shlex
import sys
from typing import List, Optional, Sequence, Tuple

from mmengine.config import Config

from mmista.finite import NonFiniteError, named_tensors_of, non_finite_tensors
from .checkpoint import (intact_checkpoint_problem, newest_intact_checkpoint,
                         read_checkpoint)


def finite_checkpoint_problem(path: str) -> Optional[str]:
    """Why a checkpoint is no place to continue a diverged run from: it
    is not intact (:func:`intact_checkpoint_problem`) or its weights or
    optimizer state hold NaN or infinity; None if it will do.

    Args:
        path (str): Checkpoint file.

    Returns:
        str | None: The reason.
    """
    problem = intact_checkpoint_problem(path)
    if problem is not None:
        return problem
    checkpoint = read_checkpoint(path)
    bad = non_finite_tensors(
        dict(
            named_tensors_of({
                key: checkpoint.get(key)
                for key in ('state_dict', 'optimizer')
            })))
    return f'{len(bad)} tensor(s) are not finite' if bad else None


def newest_finite_checkpoint(work_dir: str) -> Optional[str]:
    """The newest intact checkpoint of a work dir whose weights and
    optimizer state are all finite (in the order of
    :func:`newest_intact_checkpoint`).

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: Its path, or None if there is none.
    """
    return newest_intact_checkpoint(
        work_dir, problem_of=finite_checkpoint_problem)


def learning_rates(cfg: Config) -> List[Tuple[str, float]]:
    """The config keys of the optimizers' learning rates, with values.

    Args:
        cfg (Config): The run's config.

    Returns:
        list[tuple[str, float]]: E.g. ``[('optim_wrapper.optimizer.lr',
        0.05)]``, or one key per optimizer of a search.
    """
    wrapper = cfg.get('optim_wrapper') or {}
    if 'optimizer' in wrapper:
        parts = {'': wrapper}
    else:
        parts = {
            f'{name}.': part
            for name, part in wrapper.items()
            if isinstance(part, dict) and 'optimizer' in part
        }
    return [(f'optim_wrapper.{name}optimizer.lr', part['optimizer']['lr'])
            for name, part in parts.items()
            if isinstance(part['optimizer'].get('lr'), (int, float))]


def continue_command(argv: Sequence[str], checkpoint: Optional[str],
                     option: str) -> str:
    """The command line that continues (or restarts) a run with one
    ``--cfg-options`` entry changed.

    Args:
        argv (Sequence[str]): The run's ``sys.argv``.
        checkpoint (str, optional): Resume from it with the config's
            learning rates; None starts again.
        option (str): ``key=value`` to set.

    Returns:
        str: A shell command.
    """
    words, rest = [], list(argv)
    while rest:
        word = rest.pop(0)
        if word == '--resume':
            if rest and osp.isfile(rest[0]) and \
                    not rest[0].endswith('.py'):
                rest.pop(0)
        elif word == '--lr-from-config':
            pass
        else:
            words.append(word)
    key = option.split('=')[0] + '='
    words = [w for w in words if not w.startswith(key)]
    if '--cfg-options' in words:
        words.insert(words.index('--cfg-options') + 1, option)
    else:
        words += ['--cfg-options', option]
    if checkpoint is not None:
        words += ['--resume', checkpoint, '--lr-from-config']
    return shlex.join([osp.basename(sys.executable)] + words)


def divergence_advice(error: NonFiniteError, runner,
                      argv: Sequence[str]) -> str:
    """The message of a diverged run: what, where, and the command that
    continues from the newest finite checkpoint with a lower learning
    rate.

    Args:
        error (NonFiniteError): What was not finite.
        runner (Runner): The run.
        argv (Sequence[str]): Its ``sys.argv``.

    Returns:
        str: One line.
    """
    where = (f'epoch {runner.epoch + 1}, iteration '
             f'{runner.iter + 1}')
    rates = learning_rates(runner.cfg)
    checkpoint = newest_finite_checkpoint(runner.work_dir)
    text = f'{error} ({where}); training stopped.'
    if rates:
        key, value = rates[0]
        option = f'{key}={value / 10:g}'
        others = ''.join(f', {k}={v:g}' for k, v in rates[1:])
        lower = (f'lower the learning rate ({key}={value:g} now{others}), '
                 f'e.g. to a tenth')
    else:
        option, lower = None, 'lower the learning rate'
    wrapper = runner.cfg.get('optim_wrapper') or {}
    if 'optimizer' in wrapper and not wrapper.get('clip_grad'):
        lower += ' or clip the gradients (optim_wrapper.clip_grad=' \
                 'dict(max_norm=5.))'
    if checkpoint is None:
        text += (f' No checkpoint with finite weights was written yet: '
                 f'{lower} and start again')
    else:
        text += (f' The newest checkpoint with finite weights is '
                 f'{checkpoint}: {lower} and continue from it with the '
                 "config's learning rates (--lr-from-config)")
    if option is not None:
        text += f': {continue_command(argv, checkpoint, option)}'
    return text
