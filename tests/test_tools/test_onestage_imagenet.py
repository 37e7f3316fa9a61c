# Copyright (c) mmista contributors. All rights reserved.
"""configs/ista/onestage_imagenet.py end to end on real JPEG photos laid
out like ImageNet, with the config's own pipeline."""
import json
import shutil

import cv2
import pytest
import skimage.data

from ..utils import REPO_ROOT, run_tool

CONFIG = f'{REPO_ROOT}/configs/ista/onestage_imagenet.py'
PHOTOS = {
    'n00000000': ['astronaut', 'coffee'],
    'n00000001': ['chelsea', 'rocket'],
    'n00000002': ['cat', 'immunohistochemistry'],
    'n00000003': ['hubble_deep_field', 'colorwheel'],
}


@pytest.fixture(scope='module')
def imagenet_root(tmp_path_factory):
    """``train/<wnid>/*.JPEG``, ``val/<wnid>/*.JPEG`` and ``meta/*.txt``
    from scikit-image's sample photos."""
    root = tmp_path_factory.mktemp('imagenet')
    (root / 'meta').mkdir()
    for split in ('train', 'val'):
        lines = []
        for label, (wnid, names) in enumerate(PHOTOS.items()):
            (root / split / wnid).mkdir(parents=True)
            for name in names:
                image = getattr(skimage.data, name)()
                if image.ndim == 2:
                    image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
                path = f'{wnid}/{name}.JPEG'
                cv2.imwrite(str(root / split / path), image[..., ::-1])
                lines.append(f'{path} {label}')
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return root


def test_onestage_imagenet_runs_on_cpu(imagenet_root, tmp_path):
    data = []
    for loader in ('train_dataloader', 'val_dataloader'):
        data += [
            f'{loader}.dataset.data_root={imagenet_root}',
            f'{loader}.batch_size=4',
            f'{loader}.num_workers=0',
        ]
    work_dir = tmp_path / 'work'
    proc = run_tool(
        'tools/train.py', CONFIG, '--work-dir', str(work_dir),
        '--cfg-options', *data,
        # A 4-cell, C = 8 network: the rest is the config's (ImageNet stem,
        # 224x224 pipeline, label smoothing, auxiliary head, schedules).
        'model.backbone.channels=8', 'model.backbone.layers=4',
        'model.head.in_channels=128',
        'model.head.aux_in_channels=128', 'train_cfg.max_epochs=3',
        'train_cfg.stages.termination.max_search_epochs=1',
        'train_cfg.stages.export.check_learned=False',
        'train_cfg.stages.phase_switch.eval_epochs=1',
        'default_hooks.logger.interval=1')
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][2/2]' in log
    assert 'Architecture fixed after epoch 1' in log
    assert 'accuracy/top1' in log and 'accuracy/top5' in log
    assert (work_dir / 'export' / 'model.pth').is_file()
    cfg_text = (work_dir / 'export' / 'config.py').read_text()
    assert "stem='imagenet'" in cfg_text and 'LabelSmoothLoss' in cfg_text
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    records = [
        json.loads(line) for line in scalars.read_text().splitlines()
    ]
    assert any('accuracy/top5' in record for record in records)


def test_corrupt_image_is_named(imagenet_root, tmp_path):
    root = tmp_path / 'imagenet'
    shutil.copytree(imagenet_root, root)
    broken = root / 'train' / 'n00000001' / 'rocket.JPEG'
    broken.write_bytes(broken.read_bytes()[:300])  # cut off mid-header
    proc = run_tool(
        'tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'work'),
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'model.backbone.channels=8',
        'model.backbone.layers=4', 'model.head.in_channels=128',
        'model.head.aux_in_channels=128',
        check=False)
    assert proc.returncode != 0
    assert f'failed to load image: {broken}' in proc.stderr
