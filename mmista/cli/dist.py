# Copyright (c) mmista contributors. All rights reserved.
"""Distributed runs on machines without a GPU.

mmengine's launchers call ``torch.cuda.set_device`` and its DDP defaults
pass CUDA ``device_ids`` (docs/en/notes/stack_workarounds.md), so
``--launcher pytorch`` (and ``slurm``) fail on a CPU-only machine.
:func:`setup_cpu_distributed` starts the gloo process group from the
launcher's environment before the Runner is built (the Runner then keeps
it) and makes DDP wrap the CPU model.

Collective operations wait at most ``env_cfg.dist_cfg.timeout`` seconds
for the other ranks (gloo here, mmengine's ``init_dist`` with a GPU);
:func:`collective_failure_message` explains in one line a rank that gave
up waiting or lost its connection to another rank.

Under torchrun every attempt (the first start and each restart) meets in
the store the agent keeps for the whole job, and torch writes the same
keys there each time: a restarted rank can read the address a rank of the
failed attempt published and fail to connect (``Gloo connectFullMesh
failed``, about one restart in two on torch 2.14; NCCL's unique id
likewise, pytorch/pytorch#135712). :func:`start_process_group` gives each
attempt keys of its own.
"""
import datetime
import math
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from torch.distributed.constants import default_pg_timeout

from mmista.errors import ConfigError

#: The config key of the collective timeout, in seconds.
TIMEOUT_KEY = 'env_cfg.dist_cfg.timeout'

#: Phrases of gloo's errors when a rank waited too long: the operation
#: that timed out, and any other one of that rank (gloo closes its pairs).
_GLOO_TIMEOUT_PHRASES = ('timed out waiting',
                         'application timeout caused pair closure')
#: Phrases of gloo's errors when another rank's process went away.
_LOST_PHRASES = ('connection reset by peer', 'connection closed by peer',
                 'broken pipe', 'connection refused')


def _slurm_environment(port: str = '29500') -> None:
    """Sets torch's ``env://`` variables from SLURM's."""
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    node_list = os.environ['SLURM_NODELIST']
    addr = subprocess.getoutput(
        f'scontrol show hostname {node_list} | head -n1')
    os.environ.setdefault('MASTER_PORT', port)
    os.environ.setdefault('MASTER_ADDR', addr)
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['RANK'] = str(proc_id)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def collective_timeout(cfg: Config) -> Optional[datetime.timedelta]:
    """The time a collective operation waits for the other ranks.

    ``env_cfg.dist_cfg.timeout`` is a number of seconds, as mmengine's
    ``init_dist`` (the GPU path) takes it: it converts the number to a
    ``timedelta`` itself and refuses one given as a ``timedelta``.

    Args:
        cfg (Config): The run's config.

    Returns:
        datetime.timedelta | None: The timeout, or None when the config
        sets none (torch's default then applies: 30 minutes for gloo).

    Raises:
        ConfigError: The value is not a positive, finite number.
    """
    dist_cfg = (cfg.get('env_cfg', None) or {}).get('dist_cfg', None) or {}
    seconds = dist_cfg.get('timeout', None)
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(
            seconds, (int, float)) or not math.isfinite(seconds) or \
            seconds <= 0:
        raise ConfigError(
            f'{TIMEOUT_KEY}={seconds!r}: expected a number of seconds > 0 '
            '(e.g. 300), the longest a rank waits for the others')
    return datetime.timedelta(seconds=seconds)


def _attempt_store(
        timeout: Optional[datetime.timedelta]) -> Optional[dist.Store]:
    """torchrun's store under a prefix of this attempt, or None when no
    torchrun agent serves one (SLURM)."""
    if os.environ.get('TORCHELASTIC_USE_AGENT_STORE') != str(True):
        return None
    store = dist.TCPStore(
        os.environ['MASTER_ADDR'],
        int(os.environ['MASTER_PORT']),
        int(os.environ['WORLD_SIZE']),
        is_master=False,
        timeout=timeout or default_pg_timeout)
    attempt = os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')
    return dist.PrefixStore(f'mmista/attempt_{attempt}', store)


def start_process_group(backend: str,
                        timeout: Optional[datetime.timedelta]) -> None:
    """Starts the default process group from the launcher's environment.

    Under torchrun, in the agent's store with keys of this attempt
    (``TORCHELASTIC_RESTART_COUNT``), so that a restart never meets what
    the failed attempt left there; otherwise from ``env://``.

    Args:
        backend (str): ``'gloo'`` or ``'nccl'``.
        timeout (datetime.timedelta, optional): Of every collective
            operation; None for torch's default.
    """
    store = _attempt_store(timeout)
    if store is None:
        dist.init_process_group(backend, timeout=timeout)
    else:
        dist.init_process_group(
            backend,
            store=store,
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            timeout=timeout)


def _restarted_by_torchrun(cfg: Config, launcher: str) -> bool:
    """Whether this is a torchrun restart whose process group this module
    can start as mmengine would (a backend and a timeout, nothing else)."""
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    return launcher == 'pytorch' and os.environ.get(
        'TORCHELASTIC_RESTART_COUNT', '0') != '0' and set(dist_cfg) <= {
            'backend', 'timeout'
        }


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Starts gloo distributed training when no GPU is present.

    Does nothing for ``launcher='none'``. When CUDA is available mmengine
    starts NCCL itself, with the same ``env_cfg.dist_cfg.timeout`` (checked
    here on both paths); only a torchrun restart starts it here, as
    mmengine's ``init_dist`` would but with keys of its own in the store
    (:func:`start_process_group`).

    Args:
        cfg (Config): The run's config; its ``env_cfg.dist_cfg.backend``
            becomes ``'gloo'`` and its ``model_wrapper_cfg`` gets
            ``device_ids=None``.
        launcher (str): ``'pytorch'`` (torchrun) or ``'slurm'``.

    Returns:
        bool: Whether the gloo process group was set up here.

    Raises:
        ConfigError: ``env_cfg.dist_cfg.timeout`` is not a number of
            seconds.
    """
    if launcher == 'none':
        return False
    timeout = collective_timeout(cfg)
    if torch.cuda.is_available():
        if _restarted_by_torchrun(cfg, launcher) and \
                not dist.is_initialized():
            torch.cuda.set_device(int(os.environ['LOCAL_RANK']))
            start_process_group(
                cfg.env_cfg.dist_cfg.get('backend', 'nccl'), timeout)
        return False
    if launcher == 'slurm':
        _slurm_environment(str(cfg.env_cfg.get('dist_cfg', {}).get(
            'port', os.environ.get('MASTER_PORT', '29500'))))
    elif launcher != 'pytorch':
        raise ValueError(
            f'launcher {launcher!r} needs CUDA; on a CPU-only machine use '
            "'pytorch' (torchrun, tools/dist_train.sh) or 'slurm'")
    if not dist.is_initialized():
        start_process_group('gloo', timeout)
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def finish_distributed() -> None:
    """Waits for every rank, then closes the process group.

    Rank 0 may still be writing (the export, the last checkpoint) when the
    other ranks finish; a rank that exits with the group still open can
    abort the whole job (gloo: ``terminate called without an active
    exception``), and torchrun then kills rank 0 mid-write.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def collective_failure_message(error: BaseException) -> Optional[str]:
    """What a failed collective operation means, in one line.

    A rank that waited longer than ``env_cfg.dist_cfg.timeout`` (another
    rank hung, was suspended or is stuck) and one that lost its
    connection (another rank died) get a message that says so and what to
    do. Other errors are not recognised.

    Args:
        error (BaseException): An error raised during a distributed run.

    Returns:
        str | None: The message, or None if ``error`` is not a failed
        collective operation of this process group.
    """
    if not isinstance(error, RuntimeError) or not (
            dist.is_available() and dist.is_initialized()):
        return None
    text = str(error).strip().lower()
    rank = f'rank {dist.get_rank()} of {dist.get_world_size()}'
    restart = ('then start the run again with --resume (with MAX_RESTARTS=N, '
               'bash tools/dist_train.sh ... --resume does that by itself)')
    timed_out = any(phrase in text for phrase in _GLOO_TIMEOUT_PHRASES) or (
        isinstance(error, dist.DistError) and 'timeout' in text)
    if timed_out:
        seconds = _group_timeout_seconds()
        figure = f' ({seconds:g} s)' if seconds is not None else ''
        return (f'{rank} waited longer than {TIMEOUT_KEY}{figure} for the '
                'other ranks: one of them probably stopped or died (hung, '
                'suspended, killed, out of memory); check its log, '
                f'{restart}, or raise {TIMEOUT_KEY} if a rank is only slow')
    if any(phrase in text for phrase in _LOST_PHRASES):
        return (f'{rank} lost its connection to another rank, which '
                'probably died (killed, out of memory) or gave up waiting '
                f'for a stopped one; check the logs, {restart}')
    return None


def _group_timeout_seconds() -> Optional[float]:
    """The timeout of the default process group, if torch tells it."""
    try:
        backend = dist.distributed_c10d._get_default_group()._get_backend(
            torch.device('cpu'))
        return backend.options._timeout.total_seconds()
    except (AttributeError, RuntimeError, ValueError):
        return None
