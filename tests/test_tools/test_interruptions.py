# Copyright (c) mmista contributors. All rights reserved.
"""Ctrl-C and a disk that cannot take the run's files end a run with one
line that says what is left and what to do."""
import errno
import os
import re
import resource
import signal
import subprocess
import sys

import pytest

from mmista.cli import disk_error_message
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, TINY_TRAIN_OPTIONS


def error_lines(stderr: str):
    assert 'Traceback' not in stderr, stderr[-3000:]
    return [line for line in stderr.splitlines() if line.startswith('error')]


def test_ctrl_c_says_how_to_resume(tmp_path):
    command = [
        sys.executable, 'tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', *TINY_TRAIN_OPTIONS,
        'train_cfg.max_epochs=50', 'param_scheduler.T_max=50'
    ]
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='2',
               PYTHONUNBUFFERED='1')
    # a shell's background job ignores SIGINT, and so would the tool
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # wait for the second epoch (a checkpoint exists), then press Ctrl-C
    for line in proc.stdout:
        if re.search(r'Epoch\(train\)\s+\[2\]', line):
            break
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130
    lines = error_lines(stderr)
    assert lines == [
        f'error: interrupted (Ctrl-C); the last checkpoint is '
        f'{tmp_path}/epoch_1.pth; continue with: python tools/train.py '
        f'{DIGITS_EVAL_CONFIG} --work-dir {tmp_path} --resume'
    ]


def limit_file_size(limit: int):
    """A ``preexec_fn``: files the process writes stop at ``limit``
    bytes (the write fails with EFBIG, as a full disk fails with
    ENOSPC)."""

    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_disk_that_takes_nothing_stops_the_run_before_it_starts(
        tmp_path):
    proc = subprocess.run(
        [
            sys.executable, 'tools/train.py', DIGITS_EVAL_CONFIG,
            '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            *TINY_TRAIN_OPTIONS
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONWARNINGS='ignore'),
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size(4),
        timeout=300)
    assert proc.returncode == 1
    lines = error_lines(proc.stderr)
    assert len(lines) == 1
    # the first file the run writes (the config mmengine parses)
    assert lines[0].startswith('error: cannot write')
    assert 'File too large; free some space' in lines[0]
    assert 'Epoch(train)' not in proc.stdout + proc.stderr


@pytest.mark.parametrize('code, advice', [
    (errno.EROFS, 'choose a writable folder with --work-dir'),
    (errno.ENOSPC, 'free some space'),
    (errno.EACCES, 'choose a folder you may write to'),
])
def test_disk_errors_say_what_to_do(code, advice):
    error = OSError(code, os.strerror(code), '/runs/x/epoch_3.pth')
    message = disk_error_message(error)
    assert message.startswith(
        f'cannot write (/runs/x/epoch_3.pth): {os.strerror(code)}; ')
    assert advice in message
