# Copyright (c) mmista contributors. All rights reserved.
"""The inference example of docs/en/user_guides/export.md: its image ships
in the repository, and the digits test pipeline brings a user's image
(another size, dark ink on white) to what the model saw."""
import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmpretrain import ImageClassificationInferencer

from mmista.datasets import DigitsDataset, grey_ink_on_black
from mmista.registry import TRANSFORMS
from ..utils import REPO_ROOT

IMAGE = f'{REPO_ROOT}/demo/digit_7.png'
DIGITS_CONFIG = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
EXPORT_DOC = f'{REPO_ROOT}/docs/en/user_guides/export.md'


def doc_snippet() -> str:
    """The Python block of the page's "Classify an image" section."""
    with open(EXPORT_DOC, encoding='utf-8') as file:
        page = file.read()
    section = page.split('## Classify an image', 1)[1].split('\n## ', 1)[0]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_shipped_image_is_a_held_out_test_digit():
    dataset = DigitsDataset(split='test')
    info = dataset.get_data_info(5)
    assert info['gt_label'] == 7
    image = cv2.imread(IMAGE, cv2.IMREAD_COLOR)
    assert image.shape == (32, 32, 3)
    np.testing.assert_array_equal(image, info['img'])


def test_test_pipeline_leaves_every_test_digit_unchanged():
    """GreyInkOnBlack and Resize are no-ops on the dataset's images, so the
    test accuracy of any digits model is what it was with PackInputs
    alone."""
    cfg = Config.fromfile(DIGITS_CONFIG)
    init_default_scope('mmpretrain')  # as the inferencer builds it
    pipeline = Compose([
        TRANSFORMS.build(transform)
        for transform in cfg.test_dataloader.dataset.pipeline
    ])
    pack = Compose([TRANSFORMS.build(dict(type='PackInputs'))])
    dataset = DigitsDataset(split='test')
    assert len(dataset) == 360
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        expected = pack(dict(img=info['img'].copy()))['inputs']
        assert torch.equal(
            pipeline(dict(img=info['img'].copy()))['inputs'], expected)


def test_grey_ink_on_black_inverts_and_greys():
    digit = cv2.imread(IMAGE, cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(grey_ink_on_black(255 - digit), digit)
    np.testing.assert_array_equal(grey_ink_on_black(digit[..., 0]), digit)
    blue_on_white = np.full_like(digit, 255)
    blue_on_white[digit[..., 0] > 128] = (200, 30, 30)  # BGR: blue ink
    out = grey_ink_on_black(blue_on_white)
    assert (out == out[..., :1]).all()  # grey, three equal channels
    assert out[0, 0, 0] == 0  # the white paper became black
    ink = digit[..., 0] > 128
    assert out[ink].min() > 128  # the ink became light
    with pytest.raises(TypeError, match='uint8'):
        grey_ink_on_black(digit.astype(np.float32))


def test_doc_example_classifies_the_image_and_resized_copies(
        onestage_search_dir, tmp_path):
    """The page's snippet runs as written (from a folder whose
    work_dirs/demo/export is the tiny search's export); copies of the
    image at 100x100 and 17x23, and dark on white, reach the model as
    32x32 inputs close to the original's and get its prediction."""
    export = onestage_search_dir / 'export'
    (tmp_path / 'work_dirs' / 'demo').mkdir(parents=True)
    (tmp_path / 'work_dirs' / 'demo' / 'export').symlink_to(export)
    (tmp_path / 'demo').symlink_to(f'{REPO_ROOT}/demo')
    snippet = doc_snippet()
    assert "inferencer('demo/digit_7.png')" in snippet
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='2',
               PYTHONPATH=REPO_ROOT)
    proc = subprocess.run([sys.executable, '-c', snippet],
                          cwd=tmp_path,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # mmpretrain's progress bar (rich) shares stdout and need not end its
    # line ('Inference ━━━ 100% 0:00:003 0.101'): the snippet's output is
    # what ends the last line
    printed = re.search(r'(\d) (\d(?:\.\d+)?)\s*$', proc.stdout)
    assert printed, proc.stdout
    assert printed.group(1) in [str(digit) for digit in range(10)]
    assert 0 < float(printed.group(2)) <= 1

    inferencer = ImageClassificationInferencer(
        str(export / 'config.py'),
        pretrained=str(export / 'model.pth'),
        device='cpu')
    digit = cv2.imread(IMAGE, cv2.IMREAD_GRAYSCALE)
    copies = {
        'large': cv2.resize(digit, (100, 100),
                            interpolation=cv2.INTER_CUBIC),
        'small': cv2.resize(digit, (17, 23), interpolation=cv2.INTER_AREA),
        'dark_on_white': 255 - cv2.resize(
            digit, (100, 100), interpolation=cv2.INTER_CUBIC),
    }
    paths = [IMAGE]
    for name, image in copies.items():
        paths.append(str(tmp_path / f'{name}.png'))
        cv2.imwrite(paths[-1], image)
    results = inferencer(paths)
    assert printed.group(1) == results[0]['pred_class']
    inputs = [
        inferencer.pipeline(dict(img=cv2.imread(path)))['inputs'].float()
        for path in paths
    ]
    for path, seen, result in zip(paths[1:], inputs[1:], results[1:]):
        assert seen.shape == (3, 32, 32), path
        # mean |difference| in grey levels of 255: 0.14 (large), 3.95
        # (small, 17 px wide), 0.14 (dark on white)
        assert (seen - inputs[0]).abs().mean() < 5, path
        assert result['pred_label'] == results[0]['pred_label'], path
