# Copyright (c) mmista contributors. All rights reserved.
"""Deterministic mode: ``--cfg-options randomness.deterministic=True``.

mmengine's runner then calls ``torch.use_deterministic_algorithms(True)``
and sets ``torch.backends.cudnn.deterministic = True`` and
``cudnn.benchmark = False``. On CUDA, cuBLAS is deterministic only with a
fixed workspace, which ``CUBLAS_WORKSPACE_CONFIG`` must choose before
cuBLAS starts: without it the first matrix product raises. See
docs/en/user_guides/distributed_and_resume.md#deterministic-mode.
"""
import os
from typing import Optional

from mmengine.config import Config

from mmista.errors import ConfigError

#: The variable and the value (8 buffers of 4 MiB) that make cuBLAS
#: deterministic.
CUBLAS_WORKSPACE_VARIABLE = 'CUBLAS_WORKSPACE_CONFIG'
CUBLAS_WORKSPACE_CONFIG = ':4096:8'


def deterministic_requested(cfg: Config) -> bool:
    """Whether the config asks for deterministic algorithms.

    Args:
        cfg (Config): The run's config.

    Returns:
        bool: ``randomness.deterministic`` (False when unset).

    Raises:
        ConfigError: ``randomness`` is not a dict or ``deterministic`` is
            not True or False.
    """
    randomness = cfg.get('randomness', None)
    if randomness is None:
        return False
    if not isinstance(randomness, dict):
        raise ConfigError(
            'randomness must be a dict such as dict(seed=0, '
            f'deterministic=False), got {type(randomness).__name__} '
            f'{randomness!r}')
    value = randomness.get('deterministic', False)
    if not isinstance(value, bool):
        raise ConfigError(
            'randomness.deterministic must be True or False, got '
            f'{type(value).__name__} {value!r}')
    return value


def prepare_deterministic(cfg: Config) -> Optional[str]:
    """Sets ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` when the config asks for
    deterministic algorithms and the variable is unset (or empty); call
    it before the runner (and CUDA) starts.

    Args:
        cfg (Config): The run's config.

    Returns:
        str | None: A line for the log in deterministic mode (what is on,
        and the workspace setting with where it came from); None otherwise.

    Raises:
        ConfigError: ``randomness.deterministic`` is not True or False.
    """
    if not deterministic_requested(cfg):
        return None
    if not os.environ.get(CUBLAS_WORKSPACE_VARIABLE):  # unset or empty
        os.environ[CUBLAS_WORKSPACE_VARIABLE] = CUBLAS_WORKSPACE_CONFIG
        source = 'set by mmista'
    else:
        source = 'from the environment'
    return ('Deterministic mode (randomness.deterministic=True): '
            'torch.use_deterministic_algorithms(True), '
            'cudnn.deterministic=True, cudnn.benchmark=False; '
            f'{CUBLAS_WORKSPACE_VARIABLE}='
            f'{os.environ[CUBLAS_WORKSPACE_VARIABLE]} ({source})')
