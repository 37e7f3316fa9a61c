# Copyright (c) mmista contributors. All rights reserved.
"""Telling NaN and infinity apart from numbers, wherever values are made.

A diverged run shows itself first as a non-finite loss or gradient norm;
weights, checkpoints and outputs follow. The checks here name what is not
finite, so that an error can say where to look.
"""
from typing import Iterable, List, Mapping, Tuple

import torch

from mmista.errors import UserError

#: Buffers whose infinity is a value, not a divergence: the z shift of a
#: node that has had no second recovery yet
#: (:class:`~mmista.architecture.CompressedArchitecture`). NaN is refused
#: there too.
INFINITY_ALLOWED = ('architecture.normal_z_shift',
                    'architecture.reduce_z_shift')


class NonFiniteError(UserError, ArithmeticError):
    """A loss, gradient, weight or output that is NaN or infinite."""


def non_finite_tensors(tensors: Mapping[str, object]) -> List[str]:
    """The names of the floating-point tensors holding NaN or infinity.

    One host synchronisation for all of them; other entries (integers,
    non-tensors) are ignored, and so is infinity in the buffers of
    :data:`INFINITY_ALLOWED`.

    Args:
        tensors (Mapping[str, object]): Named values, e.g. a state dict.

    Returns:
        list[str]: The names, in the mapping's order, each followed by
        what it holds (``'backbone.stem.0.weight (nan)'``).
    """
    floats = {
        name: value
        for name, value in tensors.items() if torch.is_tensor(value)
        and value.is_floating_point() and value.numel()
    }
    if not floats or _all_finite(floats):
        return []
    names, flags = [], []
    for name, value in floats.items():
        names.append(name)
        flags.append(torch.stack([value.isnan().any(), value.isinf().any()]))
    flags = torch.stack([flag.cpu() for flag in flags]).tolist()
    return [
        f'{name} ({"nan" if has_nan else "inf"})'
        for name, (has_nan, has_inf) in zip(names, flags)
        if has_nan or has_inf and not name.endswith(INFINITY_ALLOWED)
    ]


def _all_finite(floats: Mapping[str, torch.Tensor]) -> bool:
    """Whether every tensor is finite (infinity allowed where
    :data:`INFINITY_ALLOWED` allows it), in a few fused reductions: the
    largest magnitude of all of them is finite exactly when none holds NaN
    or infinity (a checkpoint's thousands of tensors, checked at every
    save)."""
    strict = [v for n, v in floats.items() if not n.endswith(INFINITY_ALLOWED)]
    relaxed = [v for n, v in floats.items() if n.endswith(INFINITY_ALLOWED)]
    if strict and not bool(
            torch.isfinite(
                torch.nn.utils.get_total_norm(
                    strict, norm_type=float('inf')))):
        return False
    return not any(bool(v.isnan().any()) for v in relaxed)


def named_tensors_of(tree: object, prefix: str = '') -> Iterable[
        Tuple[str, object]]:
    """Every tensor in a nest of dicts, lists and tuples, by dotted path.

    Args:
        tree (object): E.g. a checkpoint or an optimizer state dict.
        prefix (str): Path of ``tree`` itself.

    Yields:
        tuple[str, Tensor]: ``(path, tensor)``.
    """
    if torch.is_tensor(tree):
        yield prefix, tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from named_tensors_of(
                value, f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for index, value in enumerate(tree):
            yield from named_tensors_of(
                value, f'{prefix}.{index}' if prefix else str(index))


def describe_names(names: List[str], shown: int = 3) -> str:
    """``'a, b, c and 5 more'``: a list of names for a one-line message."""
    more = f' and {len(names) - shown} more' if len(names) > shown else ''
    return ', '.join(names[:shown]) + more


def check_finite(tensors: Mapping[str, object], what: str) -> None:
    """Raises if any floating-point tensor holds NaN or infinity.

    Args:
        tensors (Mapping[str, object]): Named values, e.g. a state dict.
        what (str): What they are, for the message (e.g. ``'the weights
            of work_dirs/x/epoch_3.pth'``).

    Raises:
        NonFiniteError: Naming the tensors (the first three, and how many
            more).
    """
    bad = non_finite_tensors(tensors)
    if bad:
        raise NonFiniteError(
            f'{what}: {len(bad)} tensor(s) are not finite: '
            f'{describe_names(bad)}')
