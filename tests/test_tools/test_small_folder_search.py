# Copyright (c) mmista contributors. All rights reserved.
"""A one-stage search on a small folder of someone's own images (10
iterations per epoch), with configs/ista/onestage_custom.py edited as
docs/en/user_guides/custom_dataset.md says: no node terminates while the
training loss is near chance, the search ends, and the export learns; a run
whose network cannot learn says so and fails."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from ..utils import REPO_ROOT, run_tool

CLASSES = 4
PER_CLASS = {'train': 50, 'val': 20}  # 200 images: 10 batches of 20
SEARCH_CAP = 8
EVAL_EPOCHS = 5
TERMINATED = re.compile(r'Node (\w+)/(\d) terminated after epoch (\d+) '
                        r'\(iteration (\d+), training loss ([\d.]+)\)')
HELD_AT_CHANCE = re.compile(r'Termination test held after epoch (\d+): the '
                            r'training loss ([\d.]+) is near chance')
VAL_TOP1 = re.compile(r'Epoch\(val\) \[(\d+)\]\S*\s+accuracy/top1: ([\d.]+)')


@pytest.fixture(scope='module')
def small_folder(tmp_path_factory) -> Path:
    """``train/class_<k>/*.png`` and ``val/...``: digits 0-3 as 16x16 RGB."""
    root = tmp_path_factory.mktemp('small_folder')
    digits = load_digits()
    pixels = (digits.images * 255 / 16).astype(np.uint8)
    for label in range(CLASSES):
        indices = np.flatnonzero(digits.target == label)
        start = 0
        for split, count in PER_CLASS.items():
            folder = root / split / f'class_{label}'
            folder.mkdir(parents=True)
            for i in indices[start:start + count]:
                Image.fromarray(pixels[i]).resize(
                    (16, 16), Image.BILINEAR).convert('RGB').save(
                        folder / f'{i}.png')
            start += count
    return root


def edited_custom_config(folder: Path, out: Path) -> Path:
    """configs/ista/onestage_custom.py with its variables edited, as a user
    does (the ``_base_`` paths made absolute for the copy)."""
    text = (Path(REPO_ROOT) / 'configs/ista/onestage_custom.py').read_text()
    edits = {
        'data_root': repr(str(folder)),
        'num_classes': str(CLASSES),
        'image_size': '8',
        'batch_size': '20',
    }
    for name, value in edits.items():
        text, count = re.subn(rf'^{name} = .*$', f'{name} = {value}', text,
                              count=1, flags=re.M)
        assert count == 1, name
    text = text.replace("'../_base_/", f"'{REPO_ROOT}/configs/_base_/")
    out.write_text(text)
    return out


def search(folder: Path, work_dir: Path, *options: str):
    config = edited_custom_config(folder, work_dir.parent / 'custom.py')
    return run_tool(
        'tools/train.py', str(config), '--work-dir', str(work_dir),
        '--cfg-options', 'model.backbone.channels=4',
        'model.backbone.layers=4', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        f'train_cfg.max_epochs={SEARCH_CAP + EVAL_EPOCHS}',
        f'train_cfg.stages.termination.max_search_epochs={SEARCH_CAP}',
        f'train_cfg.stages.phase_switch.eval_epochs={EVAL_EPOCHS}',
        'train_cfg.val_interval=1', *options, check=False, timeout=1200)


@pytest.fixture(scope='module')
def small_folder_search(small_folder, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('small_search') / 'work'
    proc = search(small_folder, work_dir)
    return work_dir, proc


def test_no_termination_at_chance_and_the_export_learns(small_folder_search):
    work_dir, proc = small_folder_search
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'iterations per epoch (termination.scale_arch_lr)' in log
    assert 'Termination clock: 10 iterations per epoch' in log
    chance = math.log(CLASSES)
    terminations = TERMINATED.findall(log)
    # every node terminated by the test has a loss well below chance ...
    for cell, node, epoch, iteration, loss in terminations:
        assert float(loss) < 0.75 * chance, (cell, node, epoch, loss)
    # ... the epochs whose loss was near chance held the test, and once
    # the loss fell the test ran
    held = {
        int(epoch): float(loss)
        for epoch, loss in HELD_AT_CHANCE.findall(log)
    }
    assert 1 in held
    assert all(loss > 0.75 * chance for loss in held.values())
    assert any(epoch not in held for epoch in range(1, SEARCH_CAP))
    # the search ended, by the test or by the cap
    fixed = re.search(r'Architecture fixed after epoch (\d+)', log)
    assert fixed and int(fixed.group(1)) <= SEARCH_CAP
    # the exported network learned: its last validation is twice chance
    # (25%), far above what guessing reaches on 80 images (39.5%)
    top1 = [float(value) for _, value in VAL_TOP1.findall(log)]
    assert top1[-1] >= 50, top1
    assert (work_dir / 'export' / 'model.pth').is_file()
    assert 'has not learned' not in log


def test_a_network_that_cannot_learn_says_so(small_folder, tmp_path):
    """b's learning rate of CIFAR-10 on 10 iterations per epoch: the
    support weights stay near their initial scale; the log says what to
    change and the run fails instead of exporting a dead network as a
    success."""
    proc = search(small_folder, tmp_path / 'work',
                  'train_cfg.stages.termination.scale_arch_lr=False',
                  'train_cfg.stages.termination.max_search_epochs=3',
                  'train_cfg.max_epochs=5',
                  'train_cfg.stages.phase_switch.eval_epochs=2')
    log = proc.stdout + proc.stderr
    assert 'the first termination test comes after the cap of 3' in log
    assert 'scale_arch_lr=True (lr 0.0156 here)' in log
    assert 'although the training loss' in log  # the cap, at chance
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('error: the exported network has not learned')
    assert 'Traceback' not in proc.stderr
    assert (tmp_path / 'work' / 'export' / 'model.pth').is_file()
