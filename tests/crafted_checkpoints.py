# Copyright (c) mmista contributors. All rights reserved.
"""Inputs crafted for the loading tests: a checkpoint whose unpickling
runs a command, as an attacker's would, the contents of an ordinary
mmengine run, a genotype that differs only by pool type; and the check of
a tool's one-line failure."""
import os
import shlex

import numpy as np
import torch
from mmengine.logging import MessageHub

from mmista.structures import Genotype


class RunsCommand:
    """Unpickling this object runs a shell command (``os.system``); the
    tests' command only creates a marker file.

    Args:
        marker (str): The file the command creates.
    """

    def __init__(self, marker: str):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}', )


def save_code_running_checkpoint(path, marker, state_dict=None) -> None:
    """Writes a checkpoint whose ``meta`` runs ``touch marker`` when it is
    unpickled without weights-only loading.

    Args:
        path (str | Path): The checkpoint to write.
        marker (str | Path): The file that unsafe loading creates.
        state_dict (dict, optional): Weights to include. Defaults to none.
    """
    torch.save(
        dict(state_dict=state_dict or {}, meta=dict(note=RunsCommand(marker))),
        str(path))


def mmengine_run_contents(state_dict: dict) -> dict:
    """What mmengine's ``Runner.save_checkpoint`` writes besides the
    optimizer: its meta and the message hub's state (``HistoryBuffer``s of
    numpy arrays, a numpy scalar among the runtime info).

    Args:
        state_dict (dict): The weights.

    Returns:
        dict: The checkpoint.
    """
    hub = MessageHub.get_instance('crafted_checkpoints')
    for step in range(3):
        hub.update_scalar('train/loss', 1.0 / (step + 1))
    hub.update_info('eta', np.float64(12.5))
    hub.update_info('epoch', 1)
    return dict(
        meta=dict(epoch=1, iter=3, seed=0, dataset_meta=dict(classes=('a', ))),
        state_dict=state_dict,
        message_hub=hub.state_dict())


def pool_swapped(genotype: Genotype) -> Genotype:
    """The genotype with the first pool of its normal cell swapped
    (``avg_pool_3x3`` <-> ``max_pool_3x3``): a network with the same
    parameter names and shapes that computes something else.

    Args:
        genotype (Genotype): A genotype with a pool in its normal cell.

    Returns:
        Genotype: The swapped genotype.
    """
    data = genotype.to_dict()
    swap = {'avg_pool_3x3': 'max_pool_3x3', 'max_pool_3x3': 'avg_pool_3x3'}
    position = next(i for i, (op, _) in enumerate(data['normal'])
                    if op in swap)
    data['normal'][position][0] = swap[data['normal'][position][0]]
    return Genotype.from_dict(data)


def assert_one_error_line(proc, start: str) -> None:
    """Asserts that a tool failed with one ``error:`` line and no
    traceback.

    Args:
        proc (subprocess.CompletedProcess): The finished tool.
        start (str): What the message starts with.
    """
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    errors = [
        line for line in proc.stderr.splitlines()
        if line.startswith('error:')
    ]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert errors[0].startswith(f'error: {start}'), errors[0]
