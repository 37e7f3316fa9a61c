# Copyright (c) mmista contributors. All rights reserved.
"""scikit-learn's handwritten digits as an mmpretrain dataset.

The 1,797 real 8x8 grey-level digits of the UCI "Optical Recognition of
Handwritten Digits" test set ship inside scikit-learn, so this dataset needs
no download. Images are scaled to ``[0, 255]``, resized to ``image_size``
(bilinear) and repeated over three channels, giving ``HxWx3`` uint8 arrays
that CIFAR-style pipelines (``RandomCrop`` with padding, ``PackInputs``)
accept unchanged.

The split is fixed: the last 360 digits (indices 1437-1796, written by other
people than most of the first ones) are the held-out ``'test'`` split, the
first 1,437 the ``'train'`` split.
"""
from typing import List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmpretrain.datasets import BaseDataset

from mmista.registry import DATASETS

NUM_TEST = 360


def load_digit_images(image_size: int = 32):
    """Loads every digit as a ``(N, H, W, 3)`` uint8 array with labels.

    Args:
        image_size (int): Output height and width. Defaults to 32.

    Returns:
        tuple[np.ndarray, np.ndarray]: Images ``(1797, H, W, 3)`` uint8 and
        labels ``(1797, )`` int64.
    """
    from sklearn.datasets import load_digits

    if image_size < 8:
        raise ValueError(f'image_size must be >= 8, got {image_size}')
    digits = load_digits()
    images = torch.from_numpy(digits.images / 16.).float().unsqueeze(1)
    if image_size != 8:
        images = F.interpolate(
            images,
            size=(image_size, image_size),
            mode='bilinear',
            align_corners=False)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    images = images.repeat(1, 3, 1, 1).permute(0, 2, 3, 1).numpy()
    return np.ascontiguousarray(images), digits.target.astype(np.int64)


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """Real handwritten digits embedded in scikit-learn (no download).

    Args:
        split (str): ``'train'`` (1,437 images), ``'test'`` (360 images) or
            ``'all'``. Defaults to ``'train'``.
        image_size (int): Height and width of the images. Defaults to 32.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``indices``, ``test_mode``, ...).
    """

    METAINFO = {'classes': tuple(str(i) for i in range(10))}
    SPLITS = ('train', 'test', 'all')

    def __init__(self,
                 split: str = 'train',
                 image_size: int = 32,
                 pipeline: Sequence = (),
                 **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f"DigitsDataset split must be one of "
                             f'{self.SPLITS}, got {split!r}')
        self.split = split
        self.image_size = image_size
        super().__init__(
            ann_file='', data_root='', pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Returns the split's images and labels."""
        images, labels = load_digit_images(self.image_size)
        total = len(labels)
        if self.split == 'train':
            selected = range(total - NUM_TEST)
        elif self.split == 'test':
            selected = range(total - NUM_TEST, total)
        else:
            selected = range(total)
        return [
            dict(img=images[i], gt_label=int(labels[i])) for i in selected
        ]

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [f'Split: \t{self.split}', f'Image size: \t{self.image_size}']
