# Copyright (c) mmista contributors. All rights reserved.
"""Check a GPU machine in one process and write what it found to one JSON
file.

Sections, each recorded as ``passed`` or ``failed`` (with the error in one
line) with its seconds and figures; a failing section does not stop the
others, and the file is rewritten (atomically) after every section, so a
run stopped early keeps what it finished:

- ``cuda_tests``: the tests skipped without CUDA, run with pytest in a
  subprocess (outcome counts); ``skipped: no CUDA`` on the CPU;
- ``search_steps``: ``benchmark.py``'s super-net, target network and dense
  DARTS steps at the paper's search size (C = 16, 8 cells, batches 64 and
  256), without and with mixed precision: step ratios, the allocator's
  peak ratio and host synchronisations per step;
- ``onestage_run``: the one-stage CIFAR-10 config (20 cells, C = 36, batch
  96) through mmengine's Runner on random 32x32 images of 10 classes for
  300 iterations: images per second, peak memory, and the log lines,
  state and files that show the recoveries, the termination and the
  export;
- ``ddp``: a search through ``SearchDistributedDataParallel`` in a process
  group of one (NCCL; gloo on the CPU), checked against the same steps
  without it;
- ``imagenet_step``: the ImageNet network (14 cells, C = 48) trained at
  batch 128 on 224x224 images.

``--tiny`` shrinks every section (few channels, cells, images and
iterations) for a dry run on the CPU in well under a minute; at full size
the CPU is refused (it would take hours) unless ``--force``.

Example::

    python tools/analysis_tools/device_check.py --out device_check.json
    python tools/analysis_tools/device_check.py --device cpu --tiny \\
        --out device_check_cpu.json
"""
import argparse
import json
import platform
import sys
import time
import traceback
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Dict

import torch
from benchmark import machine_report, quiet_logger
from device_check_runs import FULL_RUN, TINY_RUN, cuda_tests, onestage_run
from device_check_steps import (FULL_SIZES, TINY_SIZES, ddp_figures,
                                error_line, imagenet_step_figures,
                                search_step_figures)

from mmista import register_all_modules
from mmista.fileio import atomic_write_text

#: The distributions whose versions the report records.
PACKAGES = ('torch', 'mmengine', 'mmcv-lite', 'mmcv', 'mmpretrain',
            'cvxpy', 'numpy')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check a GPU machine: the CUDA-only tests, the search '
        'step benchmark with and without AMP, a one-stage run, DDP and the '
        'ImageNet step; one JSON file.')
    parser.add_argument(
        '--device',
        choices=('cuda', 'cpu'),
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='default: cuda when available')
    parser.add_argument(
        '--tiny',
        action='store_true',
        help='tiny sizes (few channels, cells, images, iterations): a dry '
        'run on the CPU in well under a minute')
    parser.add_argument(
        '--force',
        action='store_true',
        help='run the full sizes on the CPU (hours)')
    parser.add_argument('--out', required=True, help='the JSON file')
    return parser.parse_args()


def check_args(args: argparse.Namespace) -> torch.device:
    """The device; exits with one line when the arguments cannot work."""
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: --device cuda: no CUDA device here '
                 '(torch.cuda.is_available() is False); use --device cpu '
                 '--tiny for a dry run')
    if args.device == 'cpu' and not args.tiny and not args.force:
        sys.exit('error: the full-size check takes hours on the CPU: add '
                 '--tiny for the dry run (or --force to run it anyway)')
    return torch.device(args.device)


def package_versions() -> Dict[str, str]:
    """The installed versions of :data:`PACKAGES` (None: not installed)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def run_section(call: Callable[[], dict], device: torch.device) -> dict:
    """Runs one section; its figures, or the error that stopped it.

    Returns:
        dict: ``status`` (``passed``, ``failed`` or ``skipped: <why>``),
        ``seconds``, ``figures``; on failure ``error`` (one line) and the
        traceback's last lines (or, where only a part of the section
        failed, its figures, whose ``errors`` name the parts).
    """
    start = time.perf_counter()
    try:
        figures = call()
        result = dict(status='passed', figures=figures)
        if 'skipped' in figures:
            result['status'] = f'skipped: {figures["skipped"]}'
        if figures.get('errors'):  # a part failed, the others ran
            case, line = next(iter(figures['errors'].items()))
            result.update(status='failed', error=f'{case}: {line}')
    except Exception as error:  # noqa: B902 (every failure is recorded)
        result = dict(
            status='failed',
            error=error_line(error),
            traceback=traceback.format_exc().strip().splitlines()[-8:])
    finally:
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    result['seconds'] = time.perf_counter() - start
    return result


def sections(device: torch.device,
             tiny: bool) -> Dict[str, Callable[[], dict]]:
    """The sections in the order they run."""
    sizes = TINY_SIZES if tiny else FULL_SIZES
    run = TINY_RUN if tiny else FULL_RUN
    return {
        'cuda_tests': lambda: cuda_tests(device),
        'search_steps': lambda: search_step_figures(sizes['search'], device),
        'onestage_run': lambda: onestage_run(run, device),
        'ddp': lambda: ddp_figures(sizes['ddp'], device),
        'imagenet_step': lambda: imagenet_step_figures(
            sizes['imagenet'], device),
    }


def main() -> None:
    args = parse_args()
    device = check_args(args)
    register_all_modules()
    logger = quiet_logger()
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    report = dict(
        device=str(device),
        tiny=args.tiny,
        machine=dict(
            machine_report(device),
            python=platform.python_version(),
            cuda=torch.version.cuda,
            packages=package_versions()),
        sections={})
    start = time.perf_counter()
    for name, call in sections(device, args.tiny).items():
        logger.info(f'device check: {name} ...')
        report['sections'][name] = run_section(call, device)
        report['seconds'] = time.perf_counter() - start
        atomic_write_text(args.out, json.dumps(report, indent=2) + '\n')
        logger.info(f'device check: {name} '
                    f'{report["sections"][name]["status"]} in '
                    f'{report["sections"][name]["seconds"]:.1f} s')
    failed = [
        name for name, section in report['sections'].items()
        if section['status'] == 'failed'
    ]
    print(f'{args.out}: ' + ', '.join(
        f'{name} {section["status"]}'
        for name, section in report['sections'].items()))
    if failed:
        sys.exit(1)


if __name__ == '__main__':
    main()
