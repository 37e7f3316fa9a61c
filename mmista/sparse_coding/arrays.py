# Copyright (c) mmista contributors. All rights reserved.
"""Inputs of the sparse-coding functions: arrays or tensors, as float64."""
from typing import Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def as_float64(x: ArrayLike, name: str) -> np.ndarray:
    """A float64 numpy array on the CPU of a real array or tensor.

    The LASSO, the supports and their weights are computed in float64
    whatever the dtype the network trains in; the tensors are detached.

    Args:
        x (np.ndarray | torch.Tensor): Real (floating, integer or bool)
            values.
        name (str): What ``x`` is, for the error message.

    Returns:
        np.ndarray: float64 (a copy unless ``x`` is already a float64
        numpy array).

    Raises:
        TypeError: If ``x`` is neither an array nor a tensor, or complex.
    """
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f'{name} must be real, got dtype {x.dtype}')
        return x.detach().to('cpu', torch.float64).numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f'{name} must be a numpy array or a torch tensor, '
                        f'got {type(x).__name__}')
    if not (np.issubdtype(x.dtype, np.floating)
            or np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
        raise TypeError(f'{name} must be a real array, got dtype {x.dtype}')
    return np.asarray(x, dtype=np.float64)
