# Copyright (c) mmista contributors. All rights reserved.
"""Searching a folder of images with configs/ista/*_custom.py: real PNG
files of mixed sizes and modes, bad folders named before training."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain import ImageClassificationInferencer
from PIL import Image
from sklearn.datasets import load_digits

from mmista.registry import MODELS
from mmista.structures import Genotype
from ..utils import REPO_ROOT, run_tool

REPO_ROOT_PATH = Path(REPO_ROOT)
ONESTAGE = f'{REPO_ROOT}/configs/ista/onestage_custom.py'
TWOSTAGE = f'{REPO_ROOT}/configs/ista/twostage_custom.py'
PER_CLASS = {'train': 10, 'val': 3}


def save_digit(pixels: np.ndarray, path, index: int) -> None:
    """One digit as a PNG; the mode and size vary with ``index``."""
    side = (24, 32, 40)[index % 3]
    grey = Image.fromarray(pixels).resize((side, side), Image.NEAREST)
    kind = index % 4
    if kind == 0:
        image = grey  # 8-bit grey
    elif kind == 1:
        image = grey.convert('RGBA')
    elif kind == 2:  # 16-bit grey
        image = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    else:
        image = grey.convert('RGB')
    image.save(path)


@pytest.fixture(scope='module')
def image_folder(tmp_path_factory):
    """``train/<digit>/*.png`` and ``val/<digit>/*.png`` from the embedded
    digits (scikit-learn's, 8x8 at 17 grey levels)."""
    root = tmp_path_factory.mktemp('digits_folder')
    digits = load_digits()
    pixels = (digits.images * 255 / 16).astype(np.uint8)
    for label in range(10):
        indices = np.flatnonzero(digits.target == label)
        start = 0
        for split, count in PER_CLASS.items():
            folder = root / split / f'digit_{label}'
            folder.mkdir(parents=True)
            for i in indices[start:start + count]:
                save_digit(pixels[i], folder / f'{i}.png', int(i))
            start += count
    return root


def train(config,
          root,
          work_dir,
          *extra,
          datasets=('train_dataloader.dataset', 'val_dataloader.dataset',
                    'test_dataloader.dataset'),
          check=True):
    data_root = [f'{key}.data_root={root}' for key in datasets]
    return run_tool(
        'tools/train.py',
        config,
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        *data_root,
        *extra,
        check=check)


TINY_ONESTAGE = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64', 'train_cfg.max_epochs=2',
    'train_cfg.stages.termination.max_search_epochs=1',
    'train_cfg.stages.phase_switch.eval_epochs=1', 'train_cfg.val_interval=1',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.batch_size=20', 'val_dataloader.batch_size=20',
    'train_cfg.stages.export.check_learned=False'
]


@pytest.fixture(scope='module')
def onestage_search(image_folder, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('custom_search') / 'work'
    proc = train(ONESTAGE, image_folder, work_dir, *TINY_ONESTAGE)
    return work_dir, proc.stdout + proc.stderr


def test_onestage_search_export_and_inference(image_folder, onestage_search):
    work_dir, log = onestage_search
    assert 'Architecture fixed after epoch 1' in log
    assert 'accuracy/top1' in log and 'accuracy/top5' in log
    export = work_dir / 'export'
    assert (export / 'model.pth').is_file()
    inferencer = ImageClassificationInferencer(
        str(export / 'config.py'),
        pretrained=str(export / 'model.pth'),
        device='cpu')
    png = next((image_folder / 'val' / 'digit_3').glob('*.png'))
    result = inferencer(str(png))[0]
    assert 0 <= result['pred_label'] < 10
    assert result['pred_scores'].shape == (10, )
    assert abs(float(result['pred_scores'].sum()) - 1) < 1e-4
    assert result['pred_class'].startswith('digit_')


def test_the_export_converts_to_onnx_and_torch_export(onestage_search,
                                                      tmp_path):
    export = onestage_search[0] / 'export'
    # checked on the first images of the folder's val split
    proc = run_tool('tools/deployment/convert.py', str(export), '--out',
                    str(tmp_path))
    assert 'onnx: batch 4' in proc.stdout
    assert (tmp_path / 'model.onnx').is_file()
    assert (tmp_path / 'model.pt2').is_file()


def test_annotation_files_instead_of_folders(image_folder, tmp_path):
    meta = tmp_path / 'meta'
    meta.mkdir()
    for split in PER_CLASS:
        lines = [
            f'{png.parent.name}/{png.name} {label}' for label in range(10)
            for png in sorted((image_folder / split /
                               f'digit_{label}').glob('*.png'))
        ]
        (meta / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    proc = train(ONESTAGE, image_folder, tmp_path / 'work', *TINY_ONESTAGE,
                 f'train_dataloader.dataset.ann_file={meta / "train.txt"}',
                 f'val_dataloader.dataset.ann_file={meta / "val.txt"}')
    log = proc.stdout + proc.stderr
    assert 'Architecture fixed after epoch 1' in log
    assert 'accuracy/top1' in log


def test_finetune_the_export_on_other_classes(image_folder, onestage_search,
                                              tmp_path):
    export = onestage_search[0] / 'export'
    # new data: five of the classes
    root = tmp_path / 'five'
    for split in PER_CLASS:
        for label in range(5):
            shutil.copytree(image_folder / split / f'digit_{label}',
                            root / split / f'digit_{label}')
    # the shipped config, its two paths pointed at this export
    text = (REPO_ROOT_PATH / 'configs/ista/finetune_export.py').read_text()
    text = text.replace("'../../work_dirs/custom/export/config.py'",
                        repr(str(export / 'config.py')))
    text = text.replace("'work_dirs/custom/export/model.pth'",
                        repr(str(export / 'model.pth')))
    text = text.replace("'data/other'", repr(str(root)))
    config = tmp_path / 'finetune.py'
    config.write_text(text)

    cfg = Config.fromfile(config)
    init_default_scope('mmista')
    model = MODELS.build(cfg.model)
    model.init_weights()
    exported = torch.load(export / 'model.pth')['state_dict']
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, exported[f'backbone.{key}']), key
    assert model.head.fc.weight.shape[0] == 5
    assert exported['head.fc.weight'].shape[0] == 10

    proc = run_tool('tools/train.py', str(config), '--work-dir',
                    str(tmp_path / 'work'), '--cfg-options',
                    'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
                    'train_dataloader.num_workers=0',
                    'val_dataloader.num_workers=0',
                    'train_dataloader.batch_size=10')
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [2]' in log and 'accuracy/top1' in log


def test_twostage_search_writes_a_genotype(image_folder, tmp_path):
    work_dir = tmp_path / 'work'
    train(
        TWOSTAGE,
        image_folder,
        work_dir,
        'model.backbone.channels=4',
        'model.backbone.layers=3',
        'model.head.in_channels=64',
        'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0',
        'arch_dataloader.num_workers=0',
        'val_dataloader.num_workers=0',
        'train_dataloader.batch_size=10',
        'arch_dataloader.batch_size=10',
        'val_dataloader.batch_size=20',
        datasets=('train_dataloader.dataset.dataset',
                  'arch_dataloader.dataset.dataset', 'val_dataloader.dataset',
                  'test_dataloader.dataset'))
    genotype = Genotype.from_json(work_dir / 'genotype.json')
    assert len(genotype.normal) == 8


@pytest.mark.parametrize('damage, message', [
    ('empty_class', 'holds no image'),
    ('extra_class', 'has 11 class folders but the model has num_classes=10'),
    ('unreadable', 'cannot read the image'),
    ('split_mismatch', 'differ from those of'),
])
def test_bad_folders_are_named_before_training(image_folder, tmp_path, damage,
                                               message):
    root = tmp_path / 'data'
    shutil.copytree(image_folder, root)
    if damage == 'empty_class':
        for png in (root / 'train' / 'digit_7').glob('*.png'):
            png.unlink()
    elif damage == 'extra_class':
        for split in PER_CLASS:
            shutil.copytree(root / split / 'digit_1', root / split / 'other')
    elif damage == 'unreadable':
        broken = next((root / 'train' / 'digit_2').glob('*.png'))
        broken.write_bytes(broken.read_bytes()[:40])
        message = f'cannot read the image {broken}'
    else:
        shutil.rmtree(root / 'val' / 'digit_9')
    proc = train(ONESTAGE, root, tmp_path / 'work', check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
