# Copyright (c) mmista contributors. All rights reserved.
"""Transforms that work around defects of the pinned stack."""
from typing import Dict

import cv2
import mmcv
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter

from mmista.registry import TRANSFORMS


def rotate_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotates the hue of a BGR image by ``hue_factor`` of a full turn.

    ``mmcv.adjust_hue`` (mmcv 2.2.0) computes ``np.uint8(hue_factor * 255)``,
    which NumPy 2 refuses for negative factors (``OverflowError``), so every
    ImageNet pipeline with ``ColorJitter(hue=...)`` fails on about half of
    its images. This is the same rotation with the shift taken modulo 256.

    Args:
        img (np.ndarray): A BGR image.
        hue_factor (float): Shift in ``[-0.5, 0.5]`` of a full hue turn.

    Returns:
        np.ndarray: The image with its hue rotated, same dtype.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += np.uint8(int(hue_factor * 255) % 256)  # wraps around
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


@TRANSFORMS.register_module()
class SafeColorJitter(ColorJitter):
    """mmpretrain's ``ColorJitter`` with a hue shift that works on NumPy 2.

    Same arguments and randomness as
    :class:`mmpretrain.datasets.transforms.ColorJitter`; only the hue step
    uses :func:`rotate_hue` instead of ``mmcv.adjust_hue``.
    """

    def transform(self, results: Dict) -> Dict:
        """Applies the four jitters in a random order.

        Args:
            results (dict): Needs ``img``.

        Returns:
            dict: ``results`` with ``img`` jittered.
        """
        img = results['img']
        order, brightness, contrast, saturation, hue = self._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(
                    img, brightness, backend=self.backend)
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend=self.backend)
            elif index == 2 and saturation is not None:
                img = mmcv.adjust_color(
                    img, alpha=saturation, backend=self.backend)
            elif index == 3 and hue is not None:
                img = rotate_hue(img, hue)
        results['img'] = img
        return results
