# Copyright (c) mmista contributors. All rights reserved.
"""Fault injection for distributed tests: a hook that sends a signal to its
own process (SIGKILL: the rank dies; SIGSTOP: it hangs) at one training
iteration of one rank, on torchrun's first attempt only.

Loaded by the runs under test through ``--cfg-options``::

    custom_imports.imports=[mmista,tests.test_dist.fault_injection]
    default_hooks.fault.type=SignalRankHook default_hooks.fault.rank=1 ...
"""
import json
import os
import signal
import time
from typing import Optional

from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmista.registry import HOOKS


@HOOKS.register_module()
class SignalRankHook(Hook):
    """Signals its own process before one training iteration.

    Only on torchrun's first attempt (``TORCHELASTIC_RESTART_COUNT`` is
    0), so that a restarted run goes through.

    Args:
        rank (int): The rank that signals itself.
        epoch (int): Epochs trained before (``runner.epoch``).
        iteration (int): The iteration within that epoch.
        signal_name (str): ``'SIGKILL'`` or ``'SIGSTOP'``. Defaults to
            ``'SIGKILL'``.
        marker (str, optional): A JSON file written just before the signal
            with the process id and the time.
    """

    priority = 'LOWEST'

    def __init__(self,
                 rank: int,
                 epoch: int,
                 iteration: int,
                 signal_name: str = 'SIGKILL',
                 marker: Optional[str] = None):
        self.rank = rank
        self.epoch = epoch
        self.iteration = iteration
        self.signal = getattr(signal, signal_name)
        self.marker = marker

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if (get_rank(), runner.epoch, batch_idx) != (self.rank, self.epoch,
                                                     self.iteration):
            return
        if os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') != '0':
            return
        if self.marker:
            with open(self.marker, 'w') as file:
                json.dump(dict(pid=os.getpid(), time=time.time()), file)
        os.kill(os.getpid(), self.signal)
