# Copyright (c) mmista contributors. All rights reserved.
import cv2
import mmcv
import numpy as np
import pytest
import skimage.data

from mmista.datasets import SafeColorJitter, rotate_hue


@pytest.fixture
def photo():
    return np.ascontiguousarray(skimage.data.coffee()[::4, ::4, ::-1])


def test_positive_hue_matches_mmcv(photo):
    # exact: uint8 images through the same OpenCV conversions and the same
    # integer shift
    np.testing.assert_array_equal(
        rotate_hue(photo, 0.2), mmcv.adjust_hue(photo, 0.2, backend='cv2'))


@pytest.mark.parametrize('factor', [-0.5, -0.2, -0.01])
def test_negative_hue_rotates_backwards(photo, factor):
    before = cv2.cvtColor(photo, cv2.COLOR_BGR2HSV_FULL)[..., 0].astype(int)
    rotated = rotate_hue(photo, factor)
    forward = rotate_hue(rotated, -factor)  # undoes the shift of H
    after = cv2.cvtColor(forward, cv2.COLOR_BGR2HSV_FULL)[..., 0].astype(int)
    # HSV round trips quantise; most pixels come back within 2 hue steps.
    diff = np.minimum((after - before) % 256, (before - after) % 256)
    assert np.mean(diff <= 2) > 0.95
    assert not np.array_equal(rotated, photo)


def test_hue_range_is_checked(photo):
    with pytest.raises(ValueError, match='hue_factor'):
        rotate_hue(photo, 0.7)


def test_safe_color_jitter_with_negative_hues(photo):
    jitter = SafeColorJitter(
        brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2)
    np.random.seed(0)
    for _ in range(20):  # about half of the hues drawn are negative
        out = jitter(dict(img=photo.copy()))['img']
        assert out.shape == photo.shape and out.dtype == np.uint8
