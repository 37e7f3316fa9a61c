# Copyright (c) mmista contributors. All rights reserved.
"""Cutout on the normalised batch, as the ISTA-NAS reference code does it
(docs/en/notes/reference_differences.md)."""
from numbers import Number
from typing import Optional, Sequence, Union

import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from mmista.errors import ConfigError, checked_int
from mmista.registry import MODELS


@MODELS.register_module()
class CutoutClsDataPreprocessor(ClsDataPreprocessor):
    """:class:`mmpretrain.models.ClsDataPreprocessor` that cuts a square out
    of every training image after normalisation.

    The reference code (``Cutout`` in ``ista_nas/utils.py``) runs after
    ``Normalize`` and multiplies the image by a mask: per image a centre
    ``(y, x)`` uniform over the pixels, the rows ``clip(y - L // 2, 0, H)``
    to ``clip(y + L // 2, 0, H)`` (end excluded) and the same columns, all
    channels, become 0. After normalisation 0 is the dataset's mean colour,
    not black. This preprocessor does the same on the whole batch, on the
    batch's device (off the data workers), drawing the centres from torch's
    global generator of that device, so runs seeded per epoch draw the
    same patches on resume. Validation and test batches are left as they
    are.

    Args:
        cutout_shape (int): Side ``L`` of the square. Defaults to 16.
        cutout_pad_val (Number | Sequence[Number], optional): What the
            square holds, in raw pixel units (0-255, the channel order of
            ``mean``), normalised like the image: 0 is the black patch of
            mmpretrain's ``Cutout(pad_val=0)`` on raw pixels. None (the
            default) fills 0 after normalisation, the mean colour, as the
            reference does.
        **kwargs: :class:`~mmpretrain.models.ClsDataPreprocessor`'s
            arguments (``mean``, ``std``, ``to_rgb``, ``num_classes``...).
    """

    def __init__(self,
                 cutout_shape: int = 16,
                 cutout_pad_val: Optional[Union[Number,
                                                Sequence[Number]]] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.cutout_shape = checked_int(
            cutout_shape,
            'data_preprocessor.cutout_shape',
            what='the side of the square cut out')
        self.cutout_pad_val = cutout_pad_val
        self.register_buffer('cutout_fill', self._normalised_fill(), False)

    def _normalised_fill(self) -> torch.Tensor:
        """``cutout_pad_val`` normalised like the image: ``(C, 1, 1)`` or
        ``(1, 1, 1)``; 0 for None."""
        if self.cutout_pad_val is None:
            return torch.zeros(1, 1, 1)
        channels = self.mean.numel() if self._enable_normalize else None
        try:
            fill = torch.tensor(self.cutout_pad_val, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError):
            fill = None
        fits = fill is not None and fill.dim() <= 1 and (
            channels is None or fill.numel() in (1, channels))
        if not fits:
            raise ConfigError(
                'data_preprocessor.cutout_pad_val must be None, a number or '
                'one number per channel of mean (raw pixel units), got '
                f'{self.cutout_pad_val!r}')
        fill = fill.view(-1, 1, 1)
        if self._enable_normalize:
            fill = (fill - self.mean) / self.std
        return fill

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalises the batch as :class:`ClsDataPreprocessor` does, then
        cuts out one square per image when ``training``.

        Args:
            data (dict): Data sampled from the dataloader.
            training (bool): Whether this is a training batch.

        Returns:
            dict: Data in the same format as the model input.
        """
        data = super().forward(data, training)
        if training:
            data['inputs'] = self.apply_cutout(
                data['inputs'], self.random_centres(data['inputs']))
        return data

    @staticmethod
    def random_centres(inputs: torch.Tensor) -> torch.Tensor:
        """One centre per image, uniform over its pixels.

        Args:
            inputs (torch.Tensor): A batch ``(N, C, H, W)``.

        Returns:
            torch.Tensor: ``(N, 2)`` long ``(y, x)``, drawn on the batch's
            device from torch's global generator of that device.
        """
        num, height, width = inputs.shape[0], *inputs.shape[-2:]
        rows = torch.randint(height, (num, ), device=inputs.device)
        cols = torch.randint(width, (num, ), device=inputs.device)
        return torch.stack([rows, cols], dim=1)

    def apply_cutout(self, inputs: torch.Tensor,
                     centres: torch.Tensor) -> torch.Tensor:
        """Fills the square of side ``cutout_shape`` around each centre,
        clipped at the borders, in every channel.

        Args:
            inputs (torch.Tensor): A normalised batch ``(N, C, H, W)``.
            centres (torch.Tensor): ``(N, 2)`` integer ``(y, x)`` per image.

        Returns:
            torch.Tensor: A new batch: rows ``max(y - L // 2, 0)`` to
            ``min(y + L // 2, H)`` (end excluded) and the same columns of
            image ``n`` hold ``cutout_fill``, the rest is ``inputs``.
        """
        half = self.cutout_shape // 2
        centres = centres.to(inputs.device)
        inside = []
        for axis, size in enumerate(inputs.shape[-2:]):
            index = torch.arange(size, device=inputs.device)
            centre = centres[:, axis:axis + 1]
            # the reference's clip(c - L // 2, 0, size), clip(c + L // 2, ...)
            inside.append((index >= centre - half) & (index < centre + half))
        mask = inside[0][:, None, :, None] & inside[1][:, None, None, :]
        fill = self.cutout_fill.to(inputs.dtype)
        return torch.where(mask, fill, inputs)
