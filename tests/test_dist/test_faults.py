# Copyright (c) mmista contributors. All rights reserved.
"""Two gloo processes through tools/dist_train.sh with one of them made to
fail (tests/test_dist/fault_injection.py): a rank killed mid-epoch is
restarted by torchrun and the resumed run ends like the uninterrupted one;
a stopped rank makes the other one stop with one line after
``env_cfg.dist_cfg.timeout``."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest
import torch

from ..utils import REPO_ROOT
from .test_rank_consistency import dist_env

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
# Tiny network; 96 digits in batches of 16 on each of two ranks: 3
# iterations an epoch. The search is capped at 2 epochs, one more trains
# the fixed architecture: the run ends after epoch 3.
OPTIONS = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64', 'train_dataloader.batch_size=16',
    'train_dataloader.dataset.indices=96', 'val_dataloader.dataset.indices=64',
    'train_cfg.max_epochs=3', 'train_cfg.val_interval=1',
    'train_cfg.stages.termination.max_search_epochs=2',
    'train_cfg.stages.export.check_learned=False',
    'train_cfg.stages.phase_switch.eval_epochs=1'
]
FINAL_EPOCH = 3


def fault_options(signal_name, epoch, iteration, marker=None):
    """``--cfg-options`` that make rank 1 send itself ``signal_name``
    before ``iteration`` of epoch ``epoch`` (0-based), first attempt only.
    """
    options = [
        'custom_imports.imports=[mmista,tests.test_dist.fault_injection]',
        'default_hooks.fault.type=SignalRankHook',
        'default_hooks.fault.rank=1', f'default_hooks.fault.epoch={epoch}',
        f'default_hooks.fault.iteration={iteration}',
        f'default_hooks.fault.signal_name={signal_name}'
    ]
    if marker is not None:
        options.append(f'default_hooks.fault.marker={marker}')
    return options


def dist_train_command(work_dir, *args):
    return [
        'bash', 'tools/dist_train.sh', ONESTAGE_DIGITS, '2', '--work-dir',
        str(work_dir), *args
    ]


def run_dist_train(tmp_path, work_dir, *args, **env):
    proc = subprocess.run(
        dist_train_command(work_dir, *args),
        cwd=REPO_ROOT,
        env=dict(dist_env(tmp_path), **env),
        capture_output=True,
        text=True,
        timeout=400)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f'dist_train.sh exited with {proc.returncode}:\n'
                    f'{log[-6000:]}')
    return log


def last_accuracy(log):
    return re.findall(r'accuracy/top1: ([\d.]+)', log)[-1]


def test_launcher_passes_restarts_and_torchrun_options():
    """MAX_RESTARTS and TORCHRUN_ARGS reach torchrun (PYTHON=echo prints
    the command instead of running it)."""
    env = dict(os.environ, PYTHON='echo', MAX_RESTARTS='2',
               TORCHRUN_ARGS='--log-dir logs --redirects 3')
    line = subprocess.run(
        ['bash', 'tools/dist_train.sh', ONESTAGE_DIGITS, '2', '--resume'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        check=True).stdout
    assert ' --max-restarts=2 --log-dir logs --redirects 3 ' in line
    assert line.rstrip().endswith(
        f'{ONESTAGE_DIGITS} --resume --launcher pytorch')
    env = dict(os.environ, PYTHON='echo')
    env.pop('MAX_RESTARTS', None)
    env.pop('TORCHRUN_ARGS', None)
    line = subprocess.run(
        ['bash', 'tools/dist_train.sh', ONESTAGE_DIGITS, '2'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        check=True).stdout
    assert ' --max-restarts=0 ' in line


@pytest.mark.numerics
def test_killed_rank_restarts_and_resumes_exactly(tmp_path):
    """Rank 1 is killed (SIGKILL) in the middle of epoch 2; torchrun
    restarts both processes once, and with --resume they continue from
    epoch 1's checkpoint to the uninterrupted run's end, bit for bit."""
    full = tmp_path / 'full'
    full_log = run_dist_train(tmp_path, full, '--cfg-options', *OPTIONS)

    restarted = tmp_path / 'restarted'
    log = run_dist_train(
        tmp_path,
        restarted,
        '--resume',
        '--cfg-options',
        *OPTIONS,
        *fault_options('SIGKILL', epoch=1, iteration=1),
        MAX_RESTARTS='1')
    # The first start found no checkpoint and started afresh; the second
    # resumed after epoch 1, the last one finished.
    assert f'--resume: no intact checkpoint in {restarted} to resume ' \
        'from; training starts from scratch' in log
    assert f'--resume: resuming from {restarted}/epoch_1.pth' in log
    assert 'resumed epoch: 1' in log
    # No rank left a traceback (torch prefixes a rank's with [rank<r>]:).
    assert '[rank0]:' not in log and '[rank1]:' not in log

    assert last_accuracy(log) == last_accuracy(full_log)
    assert (restarted / 'genotype.json').read_text() == \
        (full / 'genotype.json').read_text()
    for name in [f'epoch_{FINAL_EPOCH}.pth', 'export/model.pth']:
        expected = torch.load(full / name)['state_dict']
        got = torch.load(restarted / name)['state_dict']
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert torch.equal(got[key], value), (name, key)


def _stat(pid):
    """The fields of ``/proc/<pid>/stat`` after the command name (state,
    parent id, ...), or None if the process is gone."""
    try:
        with open(f'/proc/{pid}/stat') as file:
            return file.read().rsplit(')', 1)[1].split()
    except OSError:
        return None


def _running(pid):
    """Whether ``pid`` exists and is not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[0] != 'Z'


def _siblings(pid):
    """The other children of ``pid``'s parent (torchrun's other ranks)."""
    parent = int(_stat(pid)[1])
    return [
        int(entry) for entry in os.listdir('/proc')
        if entry.isdigit() and int(entry) != pid and (
            _stat(entry) or [None, None])[1] == str(parent)
    ]


def test_stopped_rank_times_out_with_one_line(tmp_path):
    """Rank 1 stops (SIGSTOP) in its second iteration; rank 0 waits
    ``env_cfg.dist_cfg.timeout`` seconds, then ends with one error line
    and a non-zero status, and so does the job."""
    timeout = 20
    marker = tmp_path / 'stopped.json'
    proc = subprocess.Popen(
        dist_train_command(
            tmp_path / 'work', '--cfg-options', *OPTIONS,
            f'env_cfg.dist_cfg.timeout={timeout}',
            *fault_options('SIGSTOP', epoch=0, iteration=1, marker=marker)),
        cwd=REPO_ROOT,
        env=dist_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    lines = []  # (arrival time, line)

    def read():
        for line in proc.stdout:
            lines.append((time.time(), line.rstrip('\n')))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stopped = None
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and not any(
                line.startswith('error:') for _, line in lines):
            time.sleep(0.2)
        assert marker.exists(), '\n'.join(line for _, line in lines)
        stopped = json.loads(marker.read_text())
        assert _running(stopped['pid']), '\n'.join(
            line for _, line in lines)[-6000:]
        # Rank 0 has gone (its error ends it); the stopped rank is ended
        # here instead of by torchrun after its 30 s shutdown grace.
        others = _siblings(stopped['pid'])
        while time.time() < deadline and any(map(_running, others)):
            time.sleep(0.2)
        os.kill(stopped['pid'], signal.SIGKILL)
        status = proc.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if stopped is not None and _running(stopped['pid']):
            os.kill(stopped['pid'], signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    log = '\n'.join(line for _, line in lines)
    errors = [(t, line) for t, line in lines if line.startswith('error:')]
    assert len(errors) == 1, log[-6000:]
    arrived, message = errors[0]
    assert message.startswith('error: rank 0 of 2 waited longer than '
                              f'env_cfg.dist_cfg.timeout ({timeout} s)')
    assert 'probably stopped or died' in message
    assert '--resume' in message
    # Within about the timeout of rank 1's stop.
    assert timeout - 3 <= arrived - stopped['time'] <= timeout + 15
    assert '[rank0]:' not in log  # no traceback
    assert status != 0
    # torchrun's summary: rank 0 exited with status 1 (not killed).
    summary = log[log.index('rank      : 0'):]
    assert re.match(r'rank {6}: 0 \(local_rank: 0\)\n +exitcode +: 1 ',
                    summary), summary[:300]
