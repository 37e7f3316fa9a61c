# Copyright (c) mmista contributors. All rights reserved.
import time

import pytest
import torch

from mmista.cli import PeakMemory, cpu_peak_memory_method
from mmista.cli import peak_memory as peak_memory_module

MiB = 2**20

pytestmark = pytest.mark.skipif(
    cpu_peak_memory_method() is None, reason='needs /proc (Linux)')


def test_peak_counts_a_transient_allocation():
    with PeakMemory('cpu') as meter:
        block = torch.ones(96 * MiB // 4)  # written, so resident
        del block
    assert 90 * MiB <= meter.peak_bytes <= 160 * MiB


def test_memory_freed_before_the_block_does_not_count():
    garbage = torch.ones(128 * MiB // 4)
    del garbage
    with PeakMemory('cpu') as meter:
        small = torch.ones(4 * MiB // 4)
    assert meter.peak_bytes <= 40 * MiB
    assert small.sum() > 0


def test_sampling_when_the_peak_cannot_be_reset(monkeypatch):
    monkeypatch.setattr(peak_memory_module, '_reset_high_water_mark',
                        lambda: False)
    meter = PeakMemory('cpu')
    assert meter.method == 'rss_sampling_1ms'
    with meter:
        block = torch.ones(96 * MiB // 4)
        time.sleep(0.05)  # the sampler runs every millisecond
        del block
    assert 90 * MiB <= meter.peak_bytes <= 160 * MiB


def test_no_proc_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(peak_memory_module, '_status_kib', lambda field: None)
    with pytest.raises(RuntimeError, match='/proc/self/status'):
        PeakMemory('cpu')
