# Copyright (c) mmista contributors. All rights reserved.
"""Peak memory of a block of code: process RSS on CPU, allocator on CUDA.

On CUDA the figure is the caching allocator's peak of allocated bytes. On
CPU it is the peak resident set size (RSS) of the process, read from the
kernel's high-water mark after resetting it (``/proc/self/clear_refs``,
Linux 4.0+); where that reset is refused, a background thread samples the
RSS every millisecond instead. Both are reported above the figure at the
start of the block, so what was resident before (the interpreter, the
libraries, other models) does not count.

On glibc, large blocks are served by ``mmap`` and handed back to the
system when freed (a fixed 64 KiB threshold instead of glibc's sliding
one), and the heap is trimmed before the baseline is taken, so what an
earlier block freed neither hides nor inflates a later block's peak.
"""
import ctypes
import ctypes.util
import gc
import threading
import time
from typing import Optional

import torch

_PROC_STATUS = '/proc/self/status'
_CLEAR_REFS = '/proc/self/clear_refs'
#: glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 64 * 1024


def _glibc() -> Optional[ctypes.CDLL]:
    """The C library when it is glibc (has ``malloc_trim``), else None."""
    name = ctypes.util.find_library('c')
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not (hasattr(libc, 'malloc_trim') and hasattr(libc, 'mallopt')):
        return None
    return libc


def _status_kib(field: str) -> Optional[int]:
    """A ``kB`` field of ``/proc/self/status`` (e.g. VmRSS), or None."""
    try:
        with open(_PROC_STATUS) as status:
            for line in status:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_high_water_mark() -> bool:
    """Resets the kernel's peak RSS to the current RSS; False if refused."""
    try:
        with open(_CLEAR_REFS, 'w') as clear_refs:
            clear_refs.write('5')
    except OSError:
        return False
    return True


class _RSSSampler(threading.Thread):
    """Samples the RSS every millisecond until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_kib = _status_kib('VmRSS') or 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kib = max(self.peak_kib, _status_kib('VmRSS') or 0)
            time.sleep(1e-3)

    def stop(self) -> int:
        """Stops sampling; returns the peak in KiB."""
        self._stop_event.set()
        self.join()
        self.peak_kib = max(self.peak_kib, _status_kib('VmRSS') or 0)
        return self.peak_kib


def cpu_peak_memory_method() -> Optional[str]:
    """How CPU peak memory is measured here.

    Returns:
        str | None: ``'rss_high_water_mark'`` (kernel peak, reset per
        block), ``'rss_sampling_1ms'`` (no reset allowed) or None (no
        ``/proc``: not measurable).
    """
    if _status_kib('VmRSS') is None:
        return None
    if _status_kib('VmHWM') is not None and _reset_high_water_mark():
        return 'rss_high_water_mark'
    return 'rss_sampling_1ms'


class PeakMemory:
    """Measures the peak memory of a block above its start.

    Example:
        >>> with PeakMemory('cpu') as meter:
        ...     train_a_few_steps()
        >>> meter.peak_bytes

    Args:
        device (str | torch.device): ``'cpu'`` or a CUDA device.

    Raises:
        RuntimeError: On CPU when the process RSS cannot be read (no
            ``/proc``, i.e. not Linux).
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.peak_bytes: Optional[int] = None
        self.baseline_bytes: Optional[int] = None
        if self.device.type == 'cuda':
            self.method = 'cuda_max_memory_allocated'
        else:
            self.method = cpu_peak_memory_method()
            if self.method is None:
                raise RuntimeError(
                    'peak memory on CPU is read from /proc/self/status '
                    '(Linux); this system has none')
        self._sampler: Optional[_RSSSampler] = None
        self._libc = _glibc() if self.device.type == 'cpu' else None
        if self._libc is not None:
            self._libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
            self._libc.mallopt(_M_TRIM_THRESHOLD, _MMAP_THRESHOLD_BYTES)

    def _release_freed(self) -> None:
        """Hands freed memory back to the system before a baseline."""
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
        elif self._libc is not None:
            self._libc.malloc_trim(0)

    def __enter__(self) -> 'PeakMemory':
        self._release_freed()
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_bytes = torch.cuda.memory_allocated(self.device)
        else:
            self.baseline_bytes = _status_kib('VmRSS') * 1024
            if self.method == 'rss_high_water_mark':
                _reset_high_water_mark()
            else:
                self._sampler = _RSSSampler()
                self._sampler.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self._sampler is not None:
            peak = self._sampler.stop() * 1024
            self._sampler = None
        else:
            peak = _status_kib('VmHWM') * 1024
        self.peak_bytes = max(peak - self.baseline_bytes, 0)


__all__ = ['PeakMemory', 'cpu_peak_memory_method']
