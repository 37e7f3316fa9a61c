# Copyright (c) mmista contributors. All rights reserved.
"""CIFAR-10 preprocessing as the reference code (iboing/ISTA-NAS,
``cifar10_transforms`` and ``Cutout`` in ``ista_nas/utils.py``) does it:
its mean and std, and cutout after ``Normalize``, whose patch is 0 (the
mean colour); the black patch on request; the CIFAR configs use it, and an
export of a CIFAR run fine-tunes with it."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain import get_model
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.structures import DataSample

from mmista.apis import export_search_model
from mmista.errors import ConfigError
from mmista.models import CutoutClsDataPreprocessor
from mmista.registry import MODELS
from ..test_tools.test_export_finetune_dist import write_image_folder
from ..utils import REPO_ROOT

#: The reference's statistics, on ToTensor's 0-1 scale.
REFERENCE_MEAN = (0.49139968, 0.48215827, 0.44653124)
REFERENCE_STD = (0.24703233, 0.24348505, 0.26158768)
CUTOUT_LENGTH = 16

#: Every CIFAR-10 config, and whether its training cuts out (the reference
#: passes --cutout to its one-stage search and its evaluations, not to its
#: two-stage search).
CIFAR_CONFIGS = {
    'configs/ista/onestage_cifar10.py': True,
    'configs/nets/ista_twostage_cifar10.py': True,
    'configs/nets/ista_onestage_cifar10.py': True,
    'configs/nets/darts_v2_cifar10.py': True,
    'configs/nets/pc_darts_cifar10.py': True,
    'configs/ista/twostage_cifar10.py': False,
    'configs/dense/twostage_cifar10.py': False,
}


def preprocessor(**kwargs) -> CutoutClsDataPreprocessor:
    """The preprocessor with the reference's statistics in 0-255 units."""
    return CutoutClsDataPreprocessor(
        mean=[255 * m for m in REFERENCE_MEAN],
        std=[255 * s for s in REFERENCE_STD],
        **kwargs)


def batch_of(images: torch.Tensor) -> dict:
    """A data batch as mmpretrain's collate gives it."""
    return dict(
        inputs=images,
        data_samples=[DataSample().set_gt_label(0) for _ in images])


def reference_cutout(image: np.ndarray, y: int, x: int) -> np.ndarray:
    """The reference's ToTensor, Normalize and Cutout(16) of one HWC uint8
    image, with the centre ``(y, x)`` its ``np.random.randint`` would draw,
    written out in float64."""
    img = image.transpose(2, 0, 1).astype(np.float64) / 255.  # ToTensor
    mean = np.array(REFERENCE_MEAN).reshape(3, 1, 1)
    std = np.array(REFERENCE_STD).reshape(3, 1, 1)
    img = (img - mean) / std  # Normalize
    h, w = img.shape[1], img.shape[2]  # Cutout.__call__
    mask = np.ones((h, w), np.float32)
    y1 = np.clip(y - CUTOUT_LENGTH // 2, 0, h)
    y2 = np.clip(y + CUTOUT_LENGTH // 2, 0, h)
    x1 = np.clip(x - CUTOUT_LENGTH // 2, 0, w)
    x2 = np.clip(x + CUTOUT_LENGTH // 2, 0, w)
    mask[y1:y2, x1:x2] = 0.
    img *= mask[None]  # mask.expand_as(img)
    return img


def patch_boxes(cut: torch.Tensor, fill: torch.Tensor) -> list:
    """``(y1, y2, x1, x2)`` of the pixels of each image that hold ``fill``
    in every channel, checked to be one rectangle."""
    boxes = []
    for image in cut:
        filled = torch.isclose(image, fill.expand_as(image)).all(0)
        rows = filled.any(1).nonzero().flatten()
        cols = filled.any(0).nonzero().flatten()
        box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]),
               int(cols[-1]) + 1)
        assert filled.sum() == (box[1] - box[0]) * (box[3] - box[2])
        boxes.append(box)
    return boxes


def test_fixed_box_matches_the_reference_arithmetic():
    """Two CIFAR-sized images, centres inside and at two borders: the
    result equals the reference's ToTensor, Normalize and Cutout."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    centres = [(20, 11), (3, 30)]  # the second clipped at top and right
    pre = preprocessor()
    normalised = pre(
        batch_of(torch.from_numpy(images).permute(0, 3, 1, 2)),
        False)['inputs']
    cut = pre.apply_cutout(normalised, torch.tensor(centres))
    for image, (y, x), result in zip(images, centres, cut):
        expected = reference_cutout(image, y, x)
        np.testing.assert_allclose(result.numpy(), expected, rtol=0, atol=2e-6)
        # the reference's patch is exactly 0: the normalised mean colour
        assert int((result == 0).all(0).sum()) == int(
            (expected == 0).all(0).sum())
    assert patch_boxes(cut, torch.zeros(3, 1, 1)) == [(12, 28, 3, 19),
                                                      (0, 11, 22, 32)]


def test_training_batches_are_cut_from_the_global_generator():
    """A training batch gets one square per image, centred where torch's
    global generator puts it (the same after the same seed: an exact
    resume); the patches are 16x16 inside the image and clipped at the
    borders with the reference's frequencies; evaluation batches are
    mmpretrain's, untouched; any image size."""
    images = torch.full((4000, 3, 32, 32), 200, dtype=torch.uint8)
    pre = preprocessor()
    plain = ClsDataPreprocessor(
        mean=pre.mean.flatten().tolist(), std=pre.std.flatten().tolist())
    evaluated = pre(batch_of(images[:8]), False)['inputs']
    assert torch.equal(evaluated, plain(batch_of(images[:8]), False)['inputs'])
    assert not (evaluated == 0).any()

    torch.manual_seed(7)
    cut = pre(batch_of(images), True)['inputs']
    torch.manual_seed(7)
    centres = pre.random_centres(cut)
    assert torch.equal(cut,
                       pre.apply_cutout(evaluated[:1].expand_as(cut), centres))
    torch.manual_seed(7)
    assert torch.equal(cut, pre(batch_of(images), True)['inputs'])

    boxes = np.array(patch_boxes(cut, torch.zeros(3, 1, 1)))
    heights, widths = boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]
    # height min(y + 8, 32) - max(y - 8, 0) for y uniform on 0..31: 16 for
    # y = 8..24 (17 of 32), y + 8 for y = 0..7, 40 - y for y = 25..31: 8
    # once, 9..15 twice
    for sides in (heights, widths):
        assert sides.min() == 8 and sides.max() == 16
        assert np.mean(sides == 16) == pytest.approx(17 / 32, abs=0.03)
        assert np.mean(sides == 8) == pytest.approx(1 / 32, abs=0.01)
        for side in range(9, 16):
            assert np.mean(sides == side) == pytest.approx(2 / 32, abs=0.015)
    assert np.mean((heights == 16) & (widths == 16)) == pytest.approx(
        (17 / 32)**2, abs=0.03)

    # non-square images, an odd side (the reference's L // 2 both ways)
    odd = CutoutClsDataPreprocessor(cutout_shape=5)
    wide = odd(batch_of(torch.ones(2, 3, 20, 40)), True)['inputs']
    box = odd.apply_cutout(torch.ones(1, 3, 20, 40), torch.tensor([[10, 39]]))
    assert patch_boxes(box, torch.zeros(3, 1, 1)) == [(8, 12, 37, 40)]
    assert wide.shape == (2, 3, 20, 40)
    assert all(h * w <= 16
               for y1, y2, x1, x2 in patch_boxes(wide, torch.zeros(3, 1, 1))
               for h, w in [(y2 - y1, x2 - x1)])


def test_black_patch_is_raw_zero():
    """cutout_pad_val=0 paints the patch as a raw 0 pixel normalises:
    -mean / std per channel, black once the normalisation is undone."""
    pre = preprocessor(cutout_pad_val=0)
    images = torch.full((2, 3, 32, 32), 128, dtype=torch.uint8)
    normalised = pre(batch_of(images), False)['inputs']
    cut = pre.apply_cutout(normalised, torch.tensor([[16, 16], [0, 0]]))
    black = torch.tensor(
        [-m / s for m, s in zip(REFERENCE_MEAN, REFERENCE_STD)])
    assert patch_boxes(cut, black.view(3, 1, 1)) == [(8, 24, 8, 24),
                                                     (0, 8, 0, 8)]
    raw = cut * pre.std + pre.mean
    assert raw[0, :, 8:24, 8:24].abs().max() < 1e-4
    assert torch.equal(raw[0, :, :8].round(), torch.full((3, 8, 32), 128.))
    grey = preprocessor(cutout_pad_val=[10, 20, 30])
    cut = grey.apply_cutout(normalised, torch.tensor([[16, 16], [0, 0]]))
    raw = cut * grey.std + grey.mean
    assert torch.allclose(raw[0, :, 16, 16], torch.tensor([10., 20., 30.]))


def test_bad_cutout_settings_name_the_key():
    with pytest.raises(ConfigError, match='data_preprocessor.cutout_shape'):
        CutoutClsDataPreprocessor(cutout_shape=0)
    with pytest.raises(ConfigError, match='data_preprocessor.cutout_pad_val'):
        CutoutClsDataPreprocessor(cutout_pad_val=[[0, 0, 0]])
    with pytest.raises(ConfigError, match='one number per channel of mean'):
        preprocessor(cutout_pad_val=[0, 0])
    with pytest.raises(ConfigError, match="got 'black'"):
        preprocessor(cutout_pad_val='black')


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_batch_is_cut_on_the_device():
    pre = preprocessor().cuda()
    torch.manual_seed(3)
    cut = pre(
        batch_of(torch.full((64, 3, 32, 32), 9, dtype=torch.uint8)),
        True)['inputs']
    assert cut.is_cuda
    torch.manual_seed(3)
    centres = pre.random_centres(cut)
    assert centres.is_cuda
    expected = pre.apply_cutout(
        pre(
            batch_of(torch.full((64, 3, 32, 32), 9, dtype=torch.uint8)),
            False)['inputs'].cpu(), centres.cpu())
    assert torch.equal(cut.cpu(), expected)


@pytest.mark.parametrize('config,cuts_out', sorted(CIFAR_CONFIGS.items()))
def test_cifar_configs_use_the_reference_preprocessing(config, cuts_out):
    cfg = Config.fromfile(f'{REPO_ROOT}/{config}')
    stats = cfg.data_preprocessor
    assert stats.mean == pytest.approx([255 * m for m in REFERENCE_MEAN])
    assert stats.std == pytest.approx([255 * s for s in REFERENCE_STD])
    init_default_scope('mmista')
    built = MODELS.build(cfg.data_preprocessor)
    if cuts_out:
        assert type(built) is CutoutClsDataPreprocessor
        assert built.cutout_shape == 16 and built.cutout_pad_val is None
    else:
        assert type(built) is ClsDataPreprocessor
    # no cutout (nor normalisation) left in any pipeline: train and test
    # images are normalised by the same preprocessor
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        pipeline = dataset.get('pipeline') or dataset.dataset.pipeline
        kinds = [step['type'] for step in pipeline]
        assert 'Cutout' not in kinds and 'Normalize' not in kinds, loader


def test_export_of_a_cifar_run_finetunes_with_its_cutout(tmp_path):
    """A one-stage CIFAR run's export: mmpretrain's get_model builds its
    preprocessor, and the shipped fine-tune config trains with it."""
    run_cfg = Config.fromfile(f'{REPO_ROOT}/configs/ista/onestage_cifar10.py')
    run_cfg.merge_from_dict({
        'model.backbone.channels': 4,
        'model.backbone.layers': 4,
        'model.head.in_channels': 64,
        'model.head.aux_in_channels': 64,
    })
    init_default_scope('mmista')
    export = tmp_path / 'export'
    export_search_model(MODELS.build(run_cfg.model), run_cfg, str(export))
    exported = Config.fromfile(export / 'config.py')
    assert exported.data_preprocessor.type == \
        'mmista.CutoutClsDataPreprocessor'
    model = get_model(str(export / 'config.py'))
    assert type(model.data_preprocessor) is CutoutClsDataPreprocessor
    assert model.data_preprocessor.cutout_shape == 16

    data = tmp_path / 'data'
    write_image_folder(data)
    text = (Path(REPO_ROOT) / 'configs/ista/finetune_export.py').read_text()
    for old, new in (("'../../work_dirs/custom/export/config.py'",
                      export / 'config.py'),
                     ("'work_dirs/custom/export/model.pth'",
                      export / 'model.pth'), ("'data/other'", data)):
        text = text.replace(old, repr(str(new)))
    (tmp_path / 'finetune.py').write_text(text)
    load = [dict(type='LoadImageFromFile')]
    (tmp_path / 'finetune_tiny.py').write_text(
        "_base_ = ['./finetune.py']\n"
        'train_dataloader = dict(batch_size=10, num_workers=0, dataset=dict('
        f'pipeline={load + exported.train_pipeline!r}))\n'
        'val_dataloader = dict(batch_size=5, num_workers=0, dataset=dict('
        f'pipeline={load + exported.test_pipeline!r}))\n'
        'test_dataloader = val_dataloader\n'
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        'param_scheduler = dict(T_max=1)\n')
    cfg = Config.fromfile(tmp_path / 'finetune_tiny.py')
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    pre = runner.model.data_preprocessor
    assert type(pre) is CutoutClsDataPreprocessor
    assert pre.num_classes == 5
    assert pre.mean.flatten().tolist() == pytest.approx(
        [255 * m for m in REFERENCE_MEAN])
    batch = next(iter(runner.train_dataloader))
    torch.manual_seed(0)
    cut = pre(batch, True)['inputs']
    torch.manual_seed(0)
    centres = pre.random_centres(cut)
    assert torch.equal(cut,
                       pre.apply_cutout(pre(batch, False)['inputs'], centres))
    assert len(patch_boxes(cut, torch.zeros(3, 1, 1))) == 10
    runner.train()
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
