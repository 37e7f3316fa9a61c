# Copyright (c) mmista contributors. All rights reserved.
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmista.datasets import DigitsDataset, load_digit_images
from mmista.registry import DATASETS


def test_split_is_fixed_and_disjoint():
    train = DigitsDataset(split='train')
    test = DigitsDataset(split='test')
    assert len(train) == 1437 and len(test) == 360
    images, labels = load_digit_images(32)
    # The test split is the last 360 digits, in order (exact: uint8 images
    # from the same function).
    assert np.array_equal(test.get_data_info(0)['img'], images[1437])
    assert test.get_data_info(359)['gt_label'] == labels[-1]
    assert sorted(set(labels[1437:])) == list(range(10))
    assert train.metainfo['classes'] == tuple('0123456789')


def test_images_look_like_cifar():
    item = DigitsDataset(split='test').get_data_info(0)
    img = item['img']
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert np.array_equal(img[..., 0], img[..., 2])
    assert img.max() > 200 and img.min() == 0
    small = DigitsDataset(split='test', image_size=8).get_data_info(0)['img']
    assert small.shape == (8, 8, 3)


def test_pipeline_from_registry():
    init_default_scope('mmista')
    dataset = DATASETS.build(
        dict(
            type='DigitsDataset',
            split='train',
            indices=10,
            pipeline=[
                dict(type='RandomCrop', crop_size=32, padding=2),
                dict(type='PackInputs')
            ]))
    assert len(dataset) == 10
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 32, 32)
    assert sample['data_samples'].gt_label.item() == dataset.get_data_info(
        0)['gt_label']


def test_bad_arguments():
    with pytest.raises(ValueError, match='split must be one of'):
        DigitsDataset(split='val')
    with pytest.raises(ValueError, match='image_size must be >= 8'):
        DigitsDataset(image_size=4)
