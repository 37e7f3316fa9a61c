# Copyright (c) mmista contributors. All rights reserved.
"""Counting the operations that make the host wait for a tensor's values.

On a GPU the host queues work and runs ahead; an operation whose result
the host must know (a value read into Python, the size of a data-dependent
output) stops it until the device has finished everything queued before.
:class:`HostSyncCounter` counts such operations while a block runs, on any
device: on the CPU nothing waits, but the same calls are made, so a CPU
test proves what a GPU run would synchronise on
(docs/en/notes/host_synchronisation.md).
"""
import collections
import sys
from contextlib import ExitStack
from typing import Counter, Dict, Optional, Tuple

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

#: ATen operators (packet names) that read a value into the host or size
#: their output by the data.
HOST_SYNC_OPS = frozenset({
    '_local_scalar_dense',  # .item(), float(), int(), bool() of a tensor
    'item',
    'is_nonzero',
    'equal',
    'allclose',
    'nonzero',
    'masked_select',
    'unique_dim',
    'unique_consecutive',
    '_unique',
    '_unique2',
    'unique_dim_consecutive',
    'bincount',
    'histc',
})
#: Operators that synchronise only in some forms: a boolean (mask) index
#: (``x[mask]``, ``x[mask] = v``), or ``repeat_interleave`` of a repeats
#: tensor without ``output_size``.
MASK_INDEX_OPS = frozenset(
    {'index', 'index_put', 'index_put_', '_index_put_impl_'})
#: Tensor methods that read the values with no ATen operator of their own
#: on the CPU (on a GPU they copy to the host first, counted as
#: ``copy_to_host``).
HOST_READ_METHODS = frozenset({'tolist', 'numpy'})


#: Modules whose frames are the machinery of a call, not where it is made.
_MACHINERY = ('torch._ops', 'torch.utils._python_dispatch', 'torch.overrides',
              'torch._tensor', 'torch._compile', 'torch._dynamo', __name__)


def calling_site() -> str:
    """``module.function`` of the innermost Python frame that made the
    current call (the dispatch and override machinery skipped)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get(
            '__name__', '').startswith(_MACHINERY):
        frame = frame.f_back
    if frame is None:
        return '?'
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}"


def _tensors(values) -> list:
    """The tensors among ``values`` and the lists/tuples they hold."""
    found = []
    for value in values:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(_tensors(value))
    return found


def host_sync_name(func, args: tuple, kwargs: Dict) -> Optional[str]:
    """The name under which an ATen call counts as a host
    synchronisation, or None.

    Args:
        func (OpOverload): The operator.
        args (tuple): Its positional arguments.
        kwargs (dict): Its keyword arguments.

    Returns:
        str | None: The operator's packet name (``'nonzero'``,
        ``'index (bool mask)'``, ``'copy_to_host'``, ...) or None.
    """
    name = func.overloadpacket.__name__
    if name in HOST_SYNC_OPS:
        return name
    if name in MASK_INDEX_OPS and len(args) > 1 and any(
            t.dtype in (torch.bool, torch.uint8) for t in _tensors(args[1])):
        return f'{name} (bool mask)'
    if name == 'repeat_interleave' and func._overloadname in (
            'Tensor', 'self_Tensor') and kwargs.get('output_size') is None:
        return name
    if name in ('_to_copy', 'copy_') and _copies_to_host(args, kwargs):
        return 'copy_to_host'
    return None


def _copies_to_host(args: tuple, kwargs: Dict) -> bool:
    """Whether a ``_to_copy``/``copy_`` moves device memory to the CPU."""
    if not args or not isinstance(args[0], torch.Tensor):
        return False
    if len(args) > 1 and isinstance(args[1], torch.Tensor):  # copy_(dst, src)
        return args[1].device.type != 'cpu' and args[0].device.type == 'cpu'
    target = kwargs.get('device')
    return (args[0].device.type != 'cpu' and target is not None
            and torch.device(target).type == 'cpu')


class _DispatchCounter(TorchDispatchMode):
    """Counts the synchronising ATen calls (forward and backward)."""

    def __init__(self, owner: 'HostSyncCounter'):
        super().__init__()
        self.owner = owner

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = host_sync_name(func, args, kwargs)
        if name is not None:
            self.owner.record(name)
        return func(*args, **kwargs)


class _MethodCounter(TorchFunctionMode):
    """Counts :data:`HOST_READ_METHODS` calls, which dispatch no ATen
    operator on the CPU."""

    def __init__(self, owner: 'HostSyncCounter'):
        super().__init__()
        self.owner = owner

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, '__name__', None)
        if name in HOST_READ_METHODS:
            self.owner.record(name)
        return func(*args, **(kwargs or {}))


class HostSyncCounter:
    """Counts host synchronisations while the block runs.

    Every ATen call of :data:`HOST_SYNC_OPS`, boolean-mask indexing,
    ``repeat_interleave`` without ``output_size``, device-to-host copies
    and the :data:`HOST_READ_METHODS` are counted by name, including the
    ones of backward passes run inside the block.

    Example::

        with HostSyncCounter() as syncs:
            model(inputs).sum().backward()
        assert not syncs.counts, syncs.counts

    Attributes:
        counts (Counter[str]): Calls per name, filled while the block runs.
        sites (Counter[tuple[str, str]]): Calls per name and calling site
            (``module.function``, see :func:`calling_site`).
    """

    def __init__(self):
        self.counts: Counter[str] = collections.Counter()
        self.sites: Counter[Tuple[str, str]] = collections.Counter()
        self._stack: Optional[ExitStack] = None

    def record(self, name: str) -> None:
        """Counts one synchronisation named ``name`` at the calling
        site."""
        self.counts[name] += 1
        self.sites[name, calling_site()] += 1

    @property
    def total(self) -> int:
        """int: All the synchronisations counted."""
        return sum(self.counts.values())

    def __enter__(self) -> 'HostSyncCounter':
        self._stack = ExitStack()
        self._stack.enter_context(_MethodCounter(self))
        self._stack.enter_context(_DispatchCounter(self))
        return self

    def __exit__(self, *exc_info) -> None:
        stack, self._stack = self._stack, None
        stack.__exit__(*exc_info)
