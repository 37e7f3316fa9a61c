# Copyright (c) mmista contributors. All rights reserved.
"""Distributed runs on machines without a GPU.

mmengine's launchers call ``torch.cuda.set_device`` and its DDP defaults
pass CUDA ``device_ids`` (docs/en/notes/stack_workarounds.md), so
``--launcher pytorch`` (and ``slurm``) fail on a CPU-only machine.
:func:`setup_cpu_distributed` starts the gloo process group from the
launcher's environment before the Runner is built (the Runner then keeps
it) and makes DDP wrap the CPU model.
"""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config


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


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Starts gloo distributed training when no GPU is present.

    Does nothing for ``launcher='none'`` or when CUDA is available (mmengine
    then starts NCCL itself).

    Args:
        cfg (Config): The run's config; its ``env_cfg.dist_cfg.backend``
            becomes ``'gloo'`` and its ``model_wrapper_cfg`` gets
            ``device_ids=None``.
        launcher (str): ``'pytorch'`` (torchrun) or ``'slurm'``.

    Returns:
        bool: Whether the gloo process group was set up here.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher == 'slurm':
        _slurm_environment(str(cfg.env_cfg.get('dist_cfg', {}).get(
            'port', os.environ.get('MASTER_PORT', '29500'))))
    elif launcher != 'pytorch':
        raise ValueError(
            f'launcher {launcher!r} needs CUDA; on a CPU-only machine use '
            "'pytorch' (torchrun, tools/dist_train.sh) or 'slurm'")
    if not dist.is_initialized():
        dist.init_process_group('gloo')
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
