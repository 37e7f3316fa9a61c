# Copyright (c) mmista contributors. All rights reserved.
"""Checking a config's data before a run (tools/analysis_tools/
check_data.py) and pointing every dataset at one folder (--data-root), on
the trees docs/en/user_guides/data_preparation.md shows."""
import subprocess

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmista.cli.data_report import DataError, check_config_data
from mmista.cli.data_root import set_data_root
from mmista.datasets import load_digit_images
from mmista.errors import ConfigError
from ..utils import REPO_ROOT, run_tool

CHECK = 'tools/analysis_tools/check_data.py'
CUSTOM = f'{REPO_ROOT}/configs/ista/onestage_custom.py'


def config(name: str) -> Config:
    return Config.fromfile(f'{REPO_ROOT}/configs/ista/{name}.py')


def test_digits_config_passes():
    proc = run_tool(CHECK, 'configs/ista/twostage_digits.py')
    assert proc.stdout.splitlines() == [
        'train_dataloader: KFoldDataset(DigitsDataset): 718 images, '
        '10 classes; read 4 through the pipeline (3x32x32)',
        'arch_dataloader: KFoldDataset(DigitsDataset): 719 images, '
        '10 classes; read 4 through the pipeline (3x32x32)',
        'val_dataloader: DigitsDataset: 360 images, 10 classes; read 4 '
        'through the pipeline (3x32x32)',
        'test_dataloader: the dataset of val_dataloader',
    ]
    assert proc.stderr.strip().endswith(
        'data of configs/ista/twostage_digits.py: ok')


def test_missing_cifar_folder_is_one_line_naming_key_and_tree(tmp_path):
    proc = run_tool(
        CHECK,
        'configs/ista/onestage_cifar10.py',
        '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path}/nowhere',
        check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f'error: train_dataloader.dataset.data_root: the folder {tmp_path}/'
        'nowhere/cifar-10-batches-py does not exist (CIFAR10 reads '
        f'{tmp_path}/nowhere/cifar-10-batches-py/{{data_batch_1..'
        'data_batch_5,test_batch,batches.meta}')


def test_incomplete_cifar_folder_names_the_missing_file(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    (folder / 'data_batch_1').write_bytes(b'not the real batch')
    cfg = config('onestage_cifar10')
    set_data_root(cfg, str(tmp_path))
    with pytest.raises(DataError, match='data_batch_1 does not match its '
                       'md5'):
        check_config_data(cfg)
    (folder / 'data_batch_1').unlink()
    with pytest.raises(DataError, match=f'{folder}/data_batch_1 is missing'):
        check_config_data(cfg)


def test_data_root_sets_the_keys_of_each_config_family():
    """The keys the data-preparation page lists for each family."""
    for path in ('configs/ista/twostage_cifar10.py',
                 'configs/dense/twostage_cifar10.py'):
        twostage = Config.fromfile(f'{REPO_ROOT}/{path}')
        assert set_data_root(twostage, '/data/c10') == [
            'train_dataloader.dataset.dataset.data_root',
            'arch_dataloader.dataset.dataset.data_root',
            'val_dataloader.dataset.dataset.data_root',
            'test_dataloader.dataset.dataset.data_root',
        ]
        assert twostage.arch_dataloader.dataset.dataset.data_root == \
            '/data/c10'
    assert set_data_root(config('twostage_custom'), '/data/x') == [
        'train_dataloader.dataset.dataset.data_root',
        'arch_dataloader.dataset.dataset.data_root',
        'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root',
    ]
    for path in ('ista/onestage_cifar10', 'ista/onestage_imagenet',
                 'ista/onestage_custom', 'nets/ista_twostage_cifar10',
                 'nets/ista_onestage_imagenet'):
        one = Config.fromfile(f'{REPO_ROOT}/configs/{path}.py')
        assert set_data_root(one, '/data/x') == [
            'train_dataloader.dataset.data_root',
            'val_dataloader.dataset.data_root',
            'test_dataloader.dataset.data_root',
        ]
    with pytest.raises(ConfigError, match='no dataset of this config has a '
                       'data_root'):
        set_data_root(config('onestage_digits'), '/data/x')


def write_png(pixels: np.ndarray, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


@pytest.fixture(scope='module')
def digit_folder(tmp_path_factory):
    """``train/<digit>/`` (2 images per class) and ``val/<digit>/`` (1)."""
    root = tmp_path_factory.mktemp('digit_folder')
    images, labels = load_digit_images()
    for label in range(10):
        indices = np.flatnonzero(labels == label)[:3]
        for split, index in zip(('train', 'train', 'val'), indices):
            path = root / split / str(label) / f'{index}.png'
            write_png(images[index], path)
    return root


def test_custom_folder_report_and_corrupt_image(digit_folder, tmp_path):
    cfg = Config.fromfile(CUSTOM)
    set_data_root(cfg, str(digit_folder))
    lines = [report.line() for report in check_config_data(cfg)]
    assert lines == [
        f'train_dataloader: CustomDataset in {digit_folder}: 20 images, 10 '
        'classes; read 4 through the pipeline (3x32x32)',
        f'val_dataloader: CustomDataset in {digit_folder}: 10 images, 10 '
        'classes; read 4 through the pipeline (3x32x32)',
        'test_dataloader: the dataset of val_dataloader',
    ]
    broken = digit_folder / 'val' / '3' / 'broken.png'
    broken.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 40)
    try:
        proc = run_tool(CHECK, CUSTOM, '--data-root', str(digit_folder),
                        check=False)
    finally:
        broken.unlink()
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f'error: val_dataloader.dataset: cannot read the image {broken}; '
        'remove or re-save it'
    ]


def test_annotation_file_naming_a_missing_image(digit_folder):
    cfg = Config.fromfile(CUSTOM)
    set_data_root(cfg, str(digit_folder))
    listed = sorted(
        str(path.relative_to(digit_folder / 'val'))
        for path in (digit_folder / 'val').glob('*/*.png'))
    ann = digit_folder / 'val.txt'
    ann.write_text(''.join(f'{path} {path.split("/")[0]}\n'
                           for path in listed) + '3/gone.png 3\n')
    cfg.val_dataloader.dataset.ann_file = str(ann)
    cfg.test_dataloader = cfg.val_dataloader
    with pytest.raises(DataError) as error:
        check_config_data(cfg)
    assert str(error.value) == (
        'val_dataloader.dataset: 1 of 11 images listed are not there, the '
        f'first {digit_folder}/val/3/gone.png; fix the annotation file or '
        'the folder')


def test_imagenet_tree_with_meta_files(tmp_path):
    """The ImageNet layout of the docs: train/<wnid>/*.JPEG, val/<wnid>/,
    meta/train.txt and meta/val.txt (``<path> <label>`` lines)."""
    images, _ = load_digit_images(image_size=48)
    meta = {'train': [], 'val': []}
    for label, wnid in enumerate(('n01440764', 'n01443537')):
        for split, count in (('train', 10), ('val', 2)):
            for i in range(count):
                name = f'{wnid}/{wnid}_{i}.JPEG'
                path = tmp_path / split / name
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(images[label * 12 + i]).save(path, 'JPEG')
                meta[split].append(f'{name} {label}\n')
    (tmp_path / 'meta').mkdir()
    for split, lines in meta.items():
        (tmp_path / 'meta' / f'{split}.txt').write_text(''.join(lines))
    expected = [
        f'train_dataloader: ImageNet in {tmp_path}: 20 images, 2 classes; '
        'read 2 through the pipeline (3x224x224)',
        f'val_dataloader: ImageNet in {tmp_path}: 4 images, 2 classes; '
        'read 2 through the pipeline (3x224x224)',
        'test_dataloader: the dataset of val_dataloader',
    ]
    cfg = config('onestage_imagenet')
    set_data_root(cfg, str(tmp_path))
    assert [report.line()
            for report in check_config_data(cfg, num_read=2)] == expected
    # The FAQ's subset: every 10th line of the annotation file.
    subprocess.run(
        "awk 'NR % 10 == 1' meta/train.txt > meta/train_10pct.txt",
        shell=True, cwd=tmp_path, check=True)
    proc = run_tool(
        CHECK, 'configs/ista/onestage_imagenet.py', '--data-root',
        str(tmp_path), '--read', '1', '--cfg-options',
        'train_dataloader.dataset.ann_file=meta/train_10pct.txt')
    assert (f'train_dataloader: ImageNet in {tmp_path}: 2 images, 2 classes'
            in proc.stdout)
    # Without meta/, mmpretrain's ImageNet reads the class folders and
    # wants all 1,000: a subset needs annotation files.
    for split in meta:
        (tmp_path / 'meta' / f'{split}.txt').unlink()
    (tmp_path / 'meta' / 'train_10pct.txt').unlink()
    with pytest.raises(DataError) as error:
        check_config_data(cfg)
    assert str(error.value) == (
        'train_dataloader.dataset: cannot build ImageNet: The number of '
        "subfolders (2) doesn't match the number of specified classes "
        '(1000). Please check the data folder.')


def test_train_data_root_moves_all_three_keys_of_a_twostage_search(
        digit_folder, tmp_path):
    """One epoch of the two-stage custom search on the folder, pointed at
    it by --data-root alone (train, arch and val/test datasets)."""
    proc = run_tool(
        'tools/train.py', f'{REPO_ROOT}/configs/ista/twostage_custom.py',
        '--data-root', str(digit_folder), '--work-dir', str(tmp_path),
        '--cfg-options', 'model.backbone.channels=4',
        'model.backbone.layers=4', 'model.head.in_channels=64',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=5',
        'arch_dataloader.batch_size=5', 'train_dataloader.num_workers=0',
        'arch_dataloader.num_workers=0', 'val_dataloader.num_workers=0')
    assert ('--data-root: set train_dataloader.dataset.dataset.data_root, '
            'arch_dataloader.dataset.dataset.data_root, '
            'val_dataloader.dataset.data_root, '
            f'test_dataloader.dataset.data_root to {digit_folder}'
            ) in proc.stderr
    assert (tmp_path / 'genotype.json').is_file()
    dumped = Config.fromfile(tmp_path / 'twostage_custom.py')
    assert dumped.arch_dataloader.dataset.dataset.data_root == str(
        digit_folder)
