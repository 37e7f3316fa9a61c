# Copyright (c) mmista contributors. All rights reserved.
"""The step-level sections of ``device_check.py``: the search step at the
paper's search size with and without mixed precision, a search through the
project's DDP wrapper in one process, and the ImageNet network's step.

Every network, batch, timing loop and memory meter is
``benchmark.py``'s; this module only chooses the sizes and reads the
figures.
"""
import argparse
import copy
import os.path as osp
import statistics
import tempfile
import time
from typing import Dict, Tuple

import torch
import torch.distributed as dist
from benchmark import (build_dense, build_ista, build_target, count_host_syncs,
                       make_batch, peak_step_memory, search_optim, synchronize,
                       time_steps, timed_step)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmista.cli import PeakMemory, fit_head_to_backbone
from mmista.models.wrappers import SearchDistributedDataParallel
from mmista.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The ImageNet network of the one-stage search (14 cells, C = 48).
IMAGENET_NET = osp.join(REPO_ROOT, 'configs', 'nets',
                        'ista_onestage_imagenet.py')
#: The autocast type of mixed precision per device type (that of
#: MixedPrecisionOptimWrapper without a dtype).
AMP_DTYPES = {'cuda': torch.float16, 'cpu': torch.bfloat16}
#: The paper's search size (C = 16, 8 cells, batches 64 and 256), a
#: search of that size under DDP, the ImageNet network at batch 128.
FULL_SIZES: Dict[str, dict] = dict(
    search=dict(
        channels=16,
        layers=8,
        image_size=32,
        batch_sizes=(64, 256),
        repeats=5,
        warmup=2,
        memory_steps=2),
    ddp=dict(
        channels=16,
        layers=8,
        image_size=32,
        batch_size=64,
        iters=5),
    imagenet=dict(batch_size=128, image_size=224, warmup=2, repeats=5),
)
#: Sizes for a dry run on the CPU in seconds.
TINY_SIZES: Dict[str, dict] = dict(
    search=dict(
        channels=4,
        layers=3,
        image_size=16,
        batch_sizes=(4, 8),
        repeats=2,
        warmup=1,
        memory_steps=1),
    ddp=dict(
        channels=4,
        layers=3,
        image_size=16,
        batch_size=4,
        iters=2),
    imagenet=dict(
        channels=4,
        layers=5,
        batch_size=2,
        image_size=224,
        warmup=1,
        repeats=1),
)


def error_line(error: BaseException) -> str:
    """An error in one line: its type and its message's first line."""
    lines = str(error).strip().splitlines()
    return f'{type(error).__name__}: {lines[0] if lines else ""}'.strip()


def search_args(size: dict, batch_size: int,
                amp: bool = False) -> argparse.Namespace:
    """``benchmark.py``'s arguments for a one-stage search step.

    Args:
        size (dict): ``channels``, ``layers``, ``image_size``, ``repeats``,
            ``warmup`` and ``memory_steps``.
        batch_size (int): The batch.
        amp (bool): Build the optimizers as ``MixedPrecisionOptimWrapper``
            (autocast around the forward: CUDA float16 with a GradScaler,
            CPU bfloat16).

    Returns:
        argparse.Namespace: The arguments.
    """
    return argparse.Namespace(
        search='onestage', batch_size=batch_size, amp=amp, seed=0, **size)


def search_case(size: dict, batch_size: int, amp: bool,
                device: torch.device) -> dict:
    """Step times, peak memory and host synchronisations of the super-net,
    its target network and the dense DARTS baseline at one batch.

    Args:
        size (dict): See :func:`search_args`.
        batch_size (int): The batch.
        amp (bool): Mixed precision (float16 with a GradScaler on CUDA,
            bfloat16 on the CPU).
        device (torch.device): Where to train.

    Returns:
        dict: The ratios, the median step seconds, peak memory and, on
        CUDA, host synchronisations per training step of each network.
    """
    args = search_args(size, batch_size, amp)
    batch = make_batch(args)
    ista = build_ista(args, device)
    genotype = ista[0].backbone.genotype().to_dict()
    builders = {
        'ista': lambda: build_ista(args, device),
        'target': lambda: build_target(genotype, args, device),
        'dense': lambda: build_dense(args, device),
    }
    models = {name: ista if name == 'ista' else build()
              for name, build in builders.items()}
    times = time_steps(models, batch, args, device)
    syncs = {
        name: count_host_syncs(
            lambda: model.train_step(batch, optim_wrapper), device)
        for name, (model, optim_wrapper) in models.items()
    } if device.type == 'cuda' else None
    del models, ista
    peak = {
        name: peak_step_memory(build, batch, args, device)
        for name, build in builders.items()
    }
    step_s = {name: statistics.median(s) for name, s in times.items()}
    return dict(
        ista_over_target_step=step_s['ista'] / step_s['target'],
        dense_over_ista_step=step_s['dense'] / step_s['ista'],
        ista_over_target_peak_mem=peak['ista'][0] / peak['target'][0],
        dense_over_ista_peak_mem=peak['dense'][0] / peak['ista'][0],
        host_syncs_per_step=syncs,
        step_seconds_median=step_s,
        images_per_s={
            name: batch_size / seconds
            for name, seconds in step_s.items()
        },
        peak_mem_mib={name: p[0] / 2**20
                      for name, p in peak.items()},
        peak_mem_method=peak['ista'][1],
        batch_size=batch_size,
        amp=str(AMP_DTYPES[device.type]).split('.')[1] if amp else None)


def search_step_figures(size: dict, device: torch.device) -> dict:
    """:func:`search_case` at every batch of ``size``, without and with
    mixed precision.

    Args:
        size (dict): :func:`search_args`'s sizes and ``batch_sizes``.
        device (torch.device): Where to train.

    Returns:
        dict: Per case (``b64_fp32``, ``b64_amp``, ...) its figures or, in
        ``errors``, the one-line error that stopped it; the sizes.
    """
    size = dict(size)
    batch_sizes = size.pop('batch_sizes')
    cases, errors = {}, {}
    for amp in (False, True):
        for batch_size in batch_sizes:
            name = f'b{batch_size}_{"amp" if amp else "fp32"}'
            try:
                cases[name] = search_case(size, batch_size, amp, device)
            except Exception as error:  # noqa: B902 (the others still run)
                errors[name] = error_line(error)
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    return dict(
        cases=cases,
        errors=errors,
        amp=('MixedPrecisionOptimWrapper: autocast to float16 around the '
             'forward, a GradScaler' if device.type == 'cuda' else
             'MixedPrecisionOptimWrapper: autocast to bfloat16 around the '
             'forward'),
        size=dict(size, batch_sizes=list(batch_sizes)))


def max_parameter_difference(first: torch.nn.Module,
                             second: torch.nn.Module) -> float:
    """The largest absolute difference between two copies' parameters."""
    return max((a.detach() - b.detach()).abs().max().item()
               for a, b in zip(first.parameters(), second.parameters()))


def ddp_figures(size: dict, device: torch.device) -> dict:
    """A one-stage search through ``SearchDistributedDataParallel`` in a
    process group of one (NCCL on CUDA, gloo on the CPU).

    A copy of the super-net takes the same steps without the wrapper;
    with one process DDP's averaged gradients are the local ones, so both
    must end with the same weights.

    Args:
        size (dict): See :func:`search_args`, with ``batch_size`` and
            ``iters`` (search iterations).
        device (torch.device): Where to train.

    Returns:
        dict: The backend, the losses, the seconds per step and the
        largest parameter difference from the copy trained without DDP.

    Raises:
        RuntimeError: The losses are not finite, or the two copies'
            weights differ.
    """
    size = dict(size)
    iters = size.pop('iters')
    args = search_args(size, size.pop('batch_size'))
    backend = 'nccl' if device.type == 'cuda' else 'gloo'
    if device.type == 'cuda':
        device = torch.device('cuda', torch.cuda.current_device())
    with tempfile.TemporaryDirectory() as folder:
        dist.init_process_group(
            backend,
            init_method=f'file://{osp.join(folder, "store")}',
            rank=0,
            world_size=1)
        try:
            return _ddp_steps(args, iters, device, backend)
        finally:
            dist.destroy_process_group()


def _ddp_steps(args: argparse.Namespace, iters: int, device: torch.device,
               backend: str) -> dict:
    """The steps of :func:`ddp_figures` in its process group."""
    batch = make_batch(args)
    model, optim_wrapper = build_ista(args, device)
    local = copy.deepcopy(model)
    local_optim = search_optim(local, args)
    ddp = SearchDistributedDataParallel(
        module=model,
        device_ids=[device] if device.type == 'cuda' else None,
        find_unused_parameters=True,
        broadcast_buffers=True)
    losses, seconds = [], []
    for _ in range(iters):
        synchronize(device)
        start = time.perf_counter()
        log_vars = ddp.train_step(batch, optim_wrapper)
        synchronize(device)
        seconds.append(time.perf_counter() - start)
        losses.append(log_vars['loss'].item())
        local.train_step(batch, local_optim)
    difference = max_parameter_difference(model, local)
    scale = max(p.detach().abs().max().item() for p in local.parameters())
    if not all(torch.isfinite(torch.tensor(losses))):
        raise RuntimeError(f'a loss under DDP is not finite: {losses}')
    if difference > 1e-4 * max(scale, 1.):
        raise RuntimeError(
            f'after {iters} steps the weights under DDP differ from those '
            f'trained without it by up to {difference:.3g}')
    return dict(
        backend=backend,
        world_size=dist.get_world_size(),
        iters=iters,
        losses=losses,
        step_seconds_median=statistics.median(seconds),
        max_param_diff_vs_local=difference,
        batch_size=args.batch_size)


def imagenet_model(size: dict,
                   device: torch.device) -> Tuple[torch.nn.Module, Config]:
    """The ImageNet network of :data:`IMAGENET_NET` (``channels`` and
    ``layers`` of ``size`` where given), with its data preprocessor, and
    its config."""
    cfg = Config.fromfile(IMAGENET_NET)
    cfg.model.backbone.update(
        {key: size[key]
         for key in ('channels', 'layers') if key in size})
    fit_head_to_backbone(cfg)
    cfg.model.data_preprocessor = dict(
        type='ClsDataPreprocessor', **cfg.data_preprocessor)
    return MODELS.build(cfg.model).to(device).train(), cfg


def imagenet_step_figures(size: dict, device: torch.device) -> dict:
    """Training steps of the ImageNet network (SGD under the config's
    optimizer wrapper) on a batch of random images.

    Args:
        size (dict): ``batch_size``, ``image_size``, ``warmup``,
            ``repeats``; optionally ``channels`` and ``layers``.
        device (torch.device): Where to train.

    Returns:
        dict: Median step seconds, images per second and peak memory.
    """
    batch = make_batch(
        argparse.Namespace(
            seed=0,
            batch_size=size['batch_size'],
            image_size=size['image_size']))
    with PeakMemory(device) as meter:
        model, cfg = imagenet_model(size, device)
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        seconds = [
            timed_step(model, optim_wrapper, batch, device)
            for _ in range(size['warmup'] + size['repeats'])
        ][size['warmup']:]
    median = statistics.median(seconds)
    return dict(
        step_seconds_median=median,
        step_seconds=seconds,
        images_per_s=size['batch_size'] / median,
        peak_mem_mib=meter.peak_bytes / 2**20,
        peak_mem_method=meter.method,
        num_params=sum(p.numel() for p in model.parameters()),
        network=osp.relpath(IMAGENET_NET, REPO_ROOT),
        channels=cfg.model.backbone.channels,
        layers=cfg.model.backbone.layers,
        batch_size=size['batch_size'],
        image_size=size['image_size'])
