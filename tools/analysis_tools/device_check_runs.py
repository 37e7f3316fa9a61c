# Copyright (c) mmista contributors. All rights reserved.
"""The run-level sections of ``device_check.py``: the tests that need CUDA
(pytest in a subprocess) and a one-stage CIFAR-shaped search through
mmengine's Runner on random images.
"""
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch

from mmista.apis import EXPORT_FILES
from mmista.cli import (PeakMemory, build_runner, check_train_config,
                        dataloader_defaults, load_config)
from mmista.engine.search_state import Z_SHIFT_HISTORY
from mmista.engine.utils import unwrapped_model

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The tests that are skipped without CUDA (``skipif(not
#: torch.cuda.is_available())``); tests/test_tools/test_device_check.py
#: checks that the list names every such test.
CUDA_TESTS = (
    'tests/test_models/test_cifar_preprocessing.py::'
    'test_cuda_batch_is_cut_on_the_device',
    'tests/test_sparse_coding/test_lasso_interface.py::'
    'test_torch_cuda_device_is_kept',
)
#: The one-stage CIFAR-10 search and evaluation (20 cells, C = 36, batch 96).
ONESTAGE_CIFAR = osp.join(REPO_ROOT, 'configs', 'ista', 'onestage_cifar10.py')
#: Characters kept of each log line quoted.
LINE_CHARS = 160
#: Log lines that show each stage of the run happened.
STAGE_LINES = {
    'recovery': 'Genotype (epoch',
    'termination': 'terminated',
    'export': 'Exported the absorbed derived network',
}


def junit_counts(path: str) -> Dict[str, int]:
    """The outcome counts of a pytest JUnit XML report.

    Args:
        path (str): The report.

    Returns:
        dict[str, int]: ``tests``, ``failures``, ``errors``, ``skipped``
        and ``passed``.
    """
    root = ElementTree.parse(path).getroot()
    suite = root if root.tag == 'testsuite' else root.find('testsuite')
    counts = {
        key: int(suite.get(key, 0))
        for key in ('tests', 'failures', 'errors', 'skipped')
    }
    counts['passed'] = counts['tests'] - counts['failures'] - \
        counts['errors'] - counts['skipped']
    return counts


def run_pytest(tests: Tuple[str, ...], timeout_s: int) -> dict:
    """Runs pytest on ``tests`` in a subprocess.

    Args:
        tests (tuple[str, ...]): Node ids, relative to the repository.
        timeout_s (int): Seconds before pytest is stopped.

    Returns:
        dict: ``counts`` (:func:`junit_counts`; None without a report),
        ``returncode``, the tests and pytest's last output lines.
    """
    with tempfile.TemporaryDirectory() as folder:
        report = osp.join(folder, 'junit.xml')
        proc = subprocess.run(
            [
                sys.executable, '-m', 'pytest', '-q', '-rs', '-p',
                'no:cacheprovider', f'--junitxml={report}', *tests
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s)
        counts = junit_counts(report) if osp.exists(report) else None
    return dict(
        counts=counts,
        returncode=proc.returncode,
        tests=list(tests),
        output_tail=(proc.stdout + proc.stderr).strip().splitlines()[-5:])


def cuda_tests(device: torch.device, timeout_s: int = 300) -> dict:
    """Runs :data:`CUDA_TESTS` with pytest in a subprocess.

    Without CUDA they run too, and must all be skipped: the section is
    then ``skipped: no CUDA``.

    Args:
        device (torch.device): Where the tests are expected to pass (CUDA)
            or to be skipped (the CPU).
        timeout_s (int): Seconds before pytest is stopped.

    Returns:
        dict: :func:`run_pytest`'s result; ``skipped`` (the reason) on the
        CPU.

    Raises:
        RuntimeError: On CUDA a test failed, errored or was skipped; on the
            CPU one was not skipped.
    """
    result = run_pytest(CUDA_TESTS, timeout_s)
    counts = result['counts']
    expected = 'passed' if device.type == 'cuda' else 'skipped'
    if counts is None or counts[expected] != len(CUDA_TESTS):
        raise RuntimeError(
            f'pytest exited with {result["returncode"]}: {counts}, expected '
            f'{len(CUDA_TESTS)} {expected}; ' +
            ' | '.join(result['output_tail']))
    if device.type != 'cuda':
        result['skipped'] = 'no CUDA'
    return result


def write_random_images(root: str, num_images: int, num_classes: int = 10,
                        image_size: int = 32) -> None:
    """Writes random RGB PNGs as ``root/<class>/<n>.png``, the classes in
    turn, for mmpretrain's ``CustomDataset``."""
    rng = np.random.default_rng(0)
    for index in range(num_images):
        folder = osp.join(root, f'class_{index % num_classes}')
        os.makedirs(folder, exist_ok=True)
        image = rng.integers(0, 256, (image_size, image_size, 3), np.uint8)
        cv2.imwrite(osp.join(folder, f'{index}.png'), image)


def run_options(size: dict) -> dict:
    """``--cfg-options`` that train the one-stage CIFAR config for
    ``size``'s epochs and keep the export without the check that the
    network learned (random labels are not learned)."""
    options = {
        'train_dataloader.num_workers': size['num_workers'],
        'train_cfg.max_epochs': size['search_epochs'] + size['eval_epochs'],
        'train_cfg.stages.termination.max_search_epochs':
        size['search_epochs'],
        'train_cfg.stages.phase_switch.eval_epochs': size['eval_epochs'],
        'train_cfg.stages.export.check_learned': False,
        'default_hooks.logger.interval': size['log_interval'],
    }
    for key in ('channels', 'layers'):
        if key in size:
            options[f'model.backbone.{key}'] = size[key]
    if 'batch_size' in size:
        options['train_dataloader.batch_size'] = size['batch_size']
    return options


def stage_lines(log_file: str) -> Dict[str, List[str]]:
    """The lines of the run's log that show each of :data:`STAGE_LINES`."""
    with open(log_file) as log:
        lines = log.read().splitlines()
    return {
        stage: [line.split(' - ', 1)[-1] for line in lines if text in line]
        for stage, text in STAGE_LINES.items()
    }


def onestage_run(size: dict, device: torch.device) -> dict:
    """A one-stage search and evaluation of the CIFAR-10 config on random
    32x32 images of 10 classes, through the Runner ``tools/train.py``
    builds, in a temporary folder.

    The search is capped at ``size['search_epochs']`` (so every node
    terminates by then), evaluation runs ``size['eval_epochs']``, and the
    export is written at the end.

    Args:
        size (dict): ``num_images``, ``search_epochs``, ``eval_epochs``,
            ``num_workers``, ``log_interval``; optionally ``channels``,
            ``layers`` and ``batch_size`` (the config's otherwise).
        device (torch.device): Where to train.

    Returns:
        dict: Images per second, peak memory, and what shows that the
        recoveries, the termination and the export happened.

    Raises:
        RuntimeError: A stage did not happen.
    """
    with tempfile.TemporaryDirectory() as folder:
        data_root = osp.join(folder, 'data')
        write_random_images(data_root, size['num_images'])
        cfg = load_config(ONESTAGE_CIFAR, run_options(size),
                          osp.join(folder, 'work'))
        # the images of data_root, through the config's pipeline; no
        # validation
        cfg.train_dataloader.dataset = dict(
            type='CustomDataset',
            data_root=data_root,
            pipeline=[dict(type='LoadImageFromFile')] +
            cfg.train_dataloader.dataset.pipeline)
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        dataloader_defaults(cfg)
        check_train_config(cfg)
        # the Runner sets cuDNN's autotuning from the config's env_cfg;
        # the sections after this one keep the check's
        autotune = torch.backends.cudnn.benchmark
        try:
            runner = build_runner(cfg)
            with PeakMemory(device) as meter:
                start = time.perf_counter()
                runner.train()
                seconds = time.perf_counter() - start
        finally:
            torch.backends.cudnn.benchmark = autotune
        architecture = unwrapped_model(runner).backbone.architecture
        hub = runner.message_hub
        iter_s = hub.get_scalar('train/time').data[0]
        export_dir = osp.join(cfg.work_dir, 'export')
        exported = sorted(os.listdir(export_dir)) if osp.isdir(
            export_dir) else []
        lines = stage_lines(
            osp.join(runner.log_dir, f'{runner.timestamp}.log'))
        batch_size = cfg.train_dataloader.batch_size
        result = dict(
            iters=runner.iter,
            epochs=runner.epoch,
            batch_size=batch_size,
            images_per_s=runner.iter * batch_size / seconds,
            images_per_s_median_iter=batch_size /
            statistics.median(iter_s.tolist()),
            train_seconds=seconds,
            peak_mem_mib=meter.peak_bytes / 2**20,
            peak_mem_method=meter.method,
            recoveries=len(hub.get_info(Z_SHIFT_HISTORY) or []),
            all_terminated=bool(architecture.all_terminated),
            fixed_epoch=int(architecture.fixed_epoch),
            exported=exported,
            terminated_by=('the max_search_epochs cap'
                           if any('max_search_epochs' in line
                                  for line in lines['termination']) else
                           'the termination test'),
            log_lines={
                stage: [line[:LINE_CHARS] for line in found[:2]]
                for stage, found in lines.items()
            },
            channels=cfg.model.backbone.channels,
            layers=cfg.model.backbone.layers,
            num_images=size['num_images'])
    missing = [
        name for name, seen in (
            ('recovery', result['recoveries'] >= 2 and lines['recovery']),
            ('termination', result['all_terminated']
             and result['fixed_epoch'] >= 0 and lines['termination']),
            ('export', set(EXPORT_FILES) <= set(exported)
             and lines['export'])) if not seen
    ]
    if missing:
        raise RuntimeError(f'the run did not show: {", ".join(missing)}')
    return result


#: The full-width run: the config's network and batch (20 cells, C = 36,
#: batch 96), 100 iterations per epoch, 2 search epochs and 1 of
#: evaluation; and a tiny one for the CPU.
FULL_RUN = dict(
    num_images=9600,
    search_epochs=2,
    eval_epochs=1,
    num_workers=4,
    log_interval=50)
TINY_RUN = dict(
    num_images=32,
    search_epochs=1,
    eval_epochs=1,
    num_workers=0,
    log_interval=2,
    channels=4,
    layers=4,
    batch_size=8)
