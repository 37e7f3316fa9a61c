# Copyright (c) mmista contributors. All rights reserved.
"""Bringing a user's digit image to the look of the embedded digits."""
from typing import Dict

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmista.registry import TRANSFORMS


def grey_ink_on_black(img: np.ndarray, threshold: float = 127.5) -> np.ndarray:
    """Turns an image into light ink on a dark background, in grey.

    The embedded digits (:class:`mmista.datasets.DigitsDataset`) are grey
    levels repeated over three channels, with bright ink on a black
    background. A colour image is converted to grey (OpenCV's BGR to grey
    weights) and repeated over three channels; an image whose outermost
    pixel frame is light (median above ``threshold``: dark ink on white
    paper) is inverted. An image that already looks like the digits is
    returned unchanged, bit for bit (the median frame of the 1,797 digits
    is at most 12).

    Args:
        img (np.ndarray): ``(H, W)`` or ``(H, W, C)`` uint8 image, BGR.
        threshold (float): Median frame value above which the image is
            inverted. Defaults to 127.5.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, the three channels equal.
    """
    if img.dtype != np.uint8:
        raise TypeError(f'GreyInkOnBlack needs a uint8 image, got {img.dtype}')
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 4:
        img = img[..., :3]
    if img.shape[2] == 3 and not (img == img[..., :1]).all():
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]
    grey = img[..., 0]
    frame = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    if np.median(frame) > threshold:
        grey = 255 - grey
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


@TRANSFORMS.register_module()
class GreyInkOnBlack(BaseTransform):
    """Converts an image to grey, light ink on black, as the digits are.

    The digits test pipeline starts with it, so that a photo or scan of a
    digit (dark ink on paper, or in colour) reaches the model as the
    training digits did; the dataset's own images pass unchanged. See
    :func:`grey_ink_on_black`.

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        threshold (float): Median value of the outermost pixel frame above
            which the image is inverted. Defaults to 127.5.
    """

    def __init__(self, threshold: float = 127.5):
        self.threshold = threshold

    def transform(self, results: Dict) -> Dict:
        """Converts ``results['img']``.

        Args:
            results (dict): Needs ``img``.

        Returns:
            dict: ``results`` with ``img`` grey, light ink on black.
        """
        results['img'] = grey_ink_on_black(results['img'], self.threshold)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(threshold={self.threshold})'
