# Copyright (c) mmista contributors. All rights reserved.
"""``network_size`` of configs/ista/*_custom.py: the network each size
builds with either stem, and a run of each config at the small size on a
folder of 40x40 images, with its expected duration logged first."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from PIL import Image

from mmista.cli.head_widths import backbone_out_channels
from mmista.registry import MODELS
from ..utils import REPO_ROOT, run_tool

CONFIGS = Path(REPO_ROOT) / 'configs' / 'ista'
CLASSES = 4
PER_CLASS = {'train': 4, 'val': 1}


def custom_config(tmp_path, name: str, **variables) -> Path:
    """A custom config with the variables at its top set as a user edits
    them (the rest derived from them).

    Args:
        tmp_path (Path): Where the edited copy is written.
        name (str): ``'onestage_custom'`` or ``'twostage_custom'``.
        **variables: e.g. ``network_size='paper'``, ``image_size=224``.

    Returns:
        Path: The edited config.
    """
    text = (CONFIGS / f'{name}.py').read_text()
    for key, value in variables.items():
        text, count = re.subn(
            rf'^{key} = .*$', f'{key} = {value!r}', text, flags=re.M)
        assert count == 1, key
    text = text.replace("'../_base_/", f"'{CONFIGS.parent}/_base_/")
    path = tmp_path / f'{name}.py'
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    'name, size, image_size, stem, channels, layers, aux_weight',
    [
        ('onestage_custom', 'small', 40, 'cifar', 8, 5, 0.4),
        ('onestage_custom', 'paper', 40, 'cifar', 36, 20, 0.4),
        # the ImageNet stem: the auxiliary map is 1/32 of the image, 7x7
        # from 224 px on
        ('onestage_custom', 'small', 128, 'imagenet', 8, 5, 0.),
        ('onestage_custom', 'small', 224, 'imagenet', 8, 5, 0.4),
        ('onestage_custom', 'paper', 224, 'imagenet', 48, 14, 0.4),
        ('twostage_custom', 'small', 40, 'cifar', 8, 5, 0.),
        ('twostage_custom', 'paper', 40, 'cifar', 16, 8, 0.),
        ('twostage_custom', 'small', 128, 'imagenet', 8, 5, 0.),
    ])
def test_network_size_sets_cells_and_channels(tmp_path, name, size, image_size,
                                              stem, channels, layers,
                                              aux_weight):
    init_default_scope('mmista')  # earlier tests may leave mmpretrain's
    cfg = Config.fromfile(
        custom_config(
            tmp_path, name, network_size=size, image_size=image_size))
    backbone, head = cfg.model.backbone, cfg.model.head
    assert (backbone.stem, backbone.channels,
            backbone.layers) == (stem, channels, layers)
    assert head.get('aux_weight', 0.) == aux_weight
    # the head's widths are those of the maps the backbone returns
    widths = backbone_out_channels(backbone)
    assert head.in_channels == widths[-1] == 16 * channels
    if aux_weight:
        assert head.aux_in_channels == widths[0]


def test_the_small_imagenet_stem_network_trains_at_both_aux_rules(tmp_path):
    """A loss at 128 px (no auxiliary head) and 224 px (with it)."""
    init_default_scope('mmista')
    for image_size, losses in ((128, {'loss'}), (224, {'loss', 'loss_aux'})):
        cfg = Config.fromfile(
            custom_config(tmp_path, 'onestage_custom', image_size=image_size))
        model = MODELS.build(cfg.model)
        samples = [DataSample().set_gt_label(label) for label in (0, 1)]
        loss = model(
            torch.rand(2, 3, image_size, image_size), samples, mode='loss')
        assert {key for key in loss if key.startswith('loss')} == losses


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    """``train/<class>/*.png`` and ``val/<class>/*.png``: 40x40 RGB images
    of 4 colours."""
    root = tmp_path_factory.mktemp('folder_40px')
    rng = np.random.default_rng(0)
    for label in range(CLASSES):
        colour = np.array([64 * label, 255 - 64 * label, 128])
        for split, count in PER_CLASS.items():
            (root / split / f'class_{label}').mkdir(parents=True)
            for index in range(count):
                noise = rng.integers(-40, 40, size=(40, 40, 3))
                pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / f'class_{label}' /
                                             f'{index}.png')
    return root


def estimate(log: str):
    """The iterations and seconds per iteration of the estimate line."""
    found = re.search(
        r'Expected duration: (?:at most )?\S+ \S+ \((\d+) iterations of '
        r'([0-9.]+) s', log)
    assert found, log[-3000:]
    return int(found.group(1)), float(found.group(2))


# One batch per epoch; the estimate warns above 0 s.
RUN_OPTIONS = [
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'default_hooks.duration_estimate.warn_above_s=0',
    'default_hooks.logger.interval=1'
]


def train_small(tmp_path, name: str, folder, *options):
    """Trains a custom config at its default (small) size on ``folder``,
    4 classes, as a user who edits its variables; returns the log."""
    config = custom_config(
        tmp_path,
        name,
        data_root=str(folder),
        num_classes=CLASSES,
        batch_size=16)
    proc = run_tool('tools/train.py', str(config), '--work-dir',
                    str(tmp_path / 'work'), '--cfg-options', *RUN_OPTIONS,
                    *options)
    return proc.stdout + proc.stderr


def test_onestage_custom_runs_at_the_small_size(folder, tmp_path):
    log = train_small(tmp_path, 'onestage_custom', folder,
                      'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
                      'train_cfg.stages.termination.max_search_epochs=1',
                      'train_cfg.stages.export.check_learned=False',
                      'train_cfg.stages.phase_switch.eval_epochs=1')
    # 2 epochs of one batch: the bound of a one-stage search
    assert estimate(log)[0] == 2
    assert re.search(r'Expected duration: at most ', log)
    warning = re.search(r'This run is expected to take .*', log).group(0)
    assert 'smaller images: image_size at the top of the config' in warning
    assert 'network_size' not in warning  # it is small already
    assert 'Epoch(train) [2][1/1]' in log
    export = Config.fromfile(tmp_path / 'work' / 'export' / 'config.py')
    assert (export.model.backbone.channels,
            export.model.backbone.layers) == (8, 5)


def test_twostage_custom_runs_at_the_small_size(folder, tmp_path):
    # halves of 8 images: one batch of 8 of each per epoch
    log = train_small(tmp_path, 'twostage_custom', folder,
                      'train_dataloader.batch_size=8',
                      'arch_dataloader.batch_size=8',
                      'arch_dataloader.num_workers=0',
                      'train_cfg.max_epochs=1')
    assert estimate(log)[0] == 1
    assert 'Epoch(train) [1][1/1]' in log
    assert (tmp_path / 'work' / 'genotype.json').is_file()
    run_cfg = Config.fromfile(tmp_path / 'work' / 'twostage_custom.py')
    assert (run_cfg.model.backbone.channels,
            run_cfg.model.backbone.layers) == (8, 5)
