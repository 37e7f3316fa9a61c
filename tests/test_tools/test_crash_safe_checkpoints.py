# Copyright (c) mmista contributors. All rights reserved.
"""A run killed while it saves a checkpoint loses no good checkpoint, and
``--resume`` finishes it exactly as the uninterrupted run.

The kill is real: a driver runs ``tools/train.py`` with ``open`` wrapped so
that the first write of a file for ``epoch_2.pth`` (the checkpoint itself
or a temporary file for it) stops half-way and the process ends with
``os._exit``, as if killed, without any clean-up.
"""
import glob
import hashlib
import json
import os.path as osp
import shutil
import textwrap

import pytest
import torch

from mmista.cli import read_checkpoint
from ..utils import DIGITS_EVAL_CONFIG, TINY_TRAIN_OPTIONS, run_tool

# Three epochs of the tiny digits network, every checkpoint kept.
OPTIONS = [
    option for option in TINY_TRAIN_OPTIONS
    if not option.startswith(('train_cfg.max_epochs', 'param_scheduler'))
] + ['train_cfg.max_epochs=3', 'param_scheduler.T_max=3']

#: Exit status of the driver when it has killed the run mid-write.
KILLED = 86

DRIVER = textwrap.dedent(f'''
    """Runs a tool; the first write of a file for DIE_WRITING stops after
    DIE_AFTER_BYTES bytes and the process dies (no clean-up at all)."""
    import builtins
    import io
    import os
    import os.path as osp
    import runpy
    import sys

    NAME = os.environ['DIE_WRITING']
    LIMIT = int(os.environ['DIE_AFTER_BYTES'])


    class DyingFile:

        def __init__(self, file):
            self._file = file
            self._written = 0

        def write(self, data):
            data = bytes(data)
            if self._written + len(data) >= LIMIT:
                self._file.write(data[:LIMIT - self._written])
                self._file.flush()
                os.fsync(self._file.fileno())
                os._exit({KILLED})
            self._written += len(data)
            return self._file.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return self._file.__exit__(*exc_info)

        def __getattr__(self, name):
            return getattr(self._file, name)


    def for_target(file):
        path = os.readlink(f'/proc/self/fd/{{file}}') if isinstance(
            file, int) else os.fspath(file)
        name = osp.basename(path)
        # the checkpoint itself, or a temporary file for it
        return name == NAME or (name.startswith('.') and
                                f'{{NAME}}.' in name)


    def dying(real_open):

        def open_(file, mode='r', *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            if 'b' in mode and ('w' in mode or 'x' in mode) and \\
                    for_target(file):
                return DyingFile(handle)
            return handle

        return open_


    builtins.open = io.open = dying(io.open)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name='__main__')
''')


def digest(path) -> str:
    with open(path, 'rb') as file:
        return hashlib.sha256(file.read()).hexdigest()


def train(work_dir, *extra, check=True):
    return run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(work_dir), *extra, check=check)


def train_and_die(tmp_path, monkeypatch, work_dir, after_bytes, *extra):
    """Runs tools/train.py until ``after_bytes`` into saving epoch_2.pth."""
    driver = tmp_path / 'die_while_saving.py'
    driver.write_text(DRIVER)
    monkeypatch.setenv('DIE_WRITING', 'epoch_2.pth')
    monkeypatch.setenv('DIE_AFTER_BYTES', str(after_bytes))
    proc = run_tool(str(driver), 'tools/train.py', DIGITS_EVAL_CONFIG,
                    '--work-dir', str(work_dir), *extra, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == KILLED, output[-4000:]
    assert 'Saving checkpoint at 2 epochs' in output
    return proc


def final_accuracy(work_dir) -> float:
    """The last validation accuracy of the latest run in ``work_dir``."""
    runs = sorted(glob.glob(osp.join(str(work_dir), '2*', 'vis_data',
                                     'scalars.json')))
    assert runs, f'no scalars under {work_dir}'
    lines = [json.loads(line) for line in open(runs[-1])]
    return [line for line in lines if 'accuracy/top1' in line][-1][
        'accuracy/top1']


def assert_finishes_like(reference, work_dir) -> None:
    """The run in ``work_dir`` ended where the uninterrupted one did."""
    expected = torch.load(reference / 'epoch_3.pth')
    got = torch.load(work_dir / 'epoch_3.pth')
    assert got['meta']['epoch'] == 3
    assert got['state_dict'].keys() == expected['state_dict'].keys()
    for key, value in expected['state_dict'].items():
        assert torch.equal(got['state_dict'][key], value), key
    assert final_accuracy(work_dir) == final_accuracy(reference)
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'epoch_3.pth')


def assert_no_partial_checkpoint(work_dir) -> None:
    """Every file under a checkpoint name reads; last_checkpoint names
    one of them."""
    for path in glob.glob(osp.join(str(work_dir), '*.pth')):
        read_checkpoint(path)
    named = (work_dir / 'last_checkpoint').read_text()
    assert osp.isfile(named)
    read_checkpoint(named)


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    """The reference: three epochs in one go."""
    work_dir = tmp_path_factory.mktemp('uninterrupted')
    train(work_dir, '--cfg-options', *OPTIONS)
    return work_dir


def copy_checkpoints(source, work_dir, epochs):
    work_dir.mkdir()
    for epoch in epochs:
        shutil.copy(source / f'epoch_{epoch}.pth', work_dir)
    (work_dir / 'last_checkpoint').write_text(
        str(work_dir / f'epoch_{max(epochs)}.pth'))


def test_killed_during_the_first_save_of_an_epoch(uninterrupted, tmp_path,
                                                  monkeypatch):
    work_dir = tmp_path / 'run'
    half = osp.getsize(uninterrupted / 'epoch_2.pth') // 2
    train_and_die(tmp_path, monkeypatch, work_dir, half, '--cfg-options',
                  *OPTIONS)
    # epoch_1.pth is whole (the uninterrupted run's weights), no
    # epoch_2.pth exists, and last_checkpoint still names epoch_1.pth.
    assert not (work_dir / 'epoch_2.pth').exists()
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'epoch_1.pth')
    assert_no_partial_checkpoint(work_dir)
    partial = glob.glob(osp.join(str(work_dir), '.tmp-epoch_2.pth.*'))
    assert len(partial) == 1 and osp.getsize(partial[0]) == half
    first = read_checkpoint(str(work_dir / 'epoch_1.pth'))['state_dict']
    reference = torch.load(uninterrupted / 'epoch_1.pth')['state_dict']
    for key, value in reference.items():
        assert torch.equal(first[key], value), key

    proc = train(work_dir, '--resume', '--cfg-options', *OPTIONS)
    assert f'--resume: resuming from {work_dir}/epoch_1.pth' in proc.stderr
    assert 'skipping' not in proc.stderr
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    # the partial file of the killed save is gone
    assert not glob.glob(osp.join(str(work_dir), '.tmp-*'))
    assert_finishes_like(uninterrupted, work_dir)


def test_killed_while_overwriting_a_good_checkpoint(uninterrupted, tmp_path,
                                                    monkeypatch):
    """Resumed from epoch 1 in a work dir that holds a good epoch_2.pth,
    with max_keep_ckpts=1: mmengine's hook would delete epoch_1.pth, then
    truncate epoch_2.pth, and leave nothing."""
    work_dir = tmp_path / 'run'
    copy_checkpoints(uninterrupted, work_dir, (1, 2))
    before = {name: digest(work_dir / name)
              for name in ('epoch_1.pth', 'epoch_2.pth', 'last_checkpoint')}
    keep_one = [*OPTIONS, 'default_hooks.checkpoint.max_keep_ckpts=1']
    half = osp.getsize(uninterrupted / 'epoch_2.pth') // 2
    train_and_die(tmp_path, monkeypatch, work_dir, half, '--resume',
                  str(work_dir / 'epoch_1.pth'), '--cfg-options', *keep_one)
    assert {name: digest(work_dir / name) for name in before} == before
    assert_no_partial_checkpoint(work_dir)

    proc = train(work_dir, '--resume', '--cfg-options', *keep_one)
    assert f'--resume: resuming from {work_dir}/epoch_2.pth' in proc.stderr
    assert 'resumed epoch: 2' in proc.stdout + proc.stderr
    assert_finishes_like(uninterrupted, work_dir)
    # max_keep_ckpts still applies: the older checkpoints are gone
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_3.pth']


def test_truncated_newest_checkpoint_is_skipped(uninterrupted, tmp_path):
    work_dir = tmp_path / 'run'
    copy_checkpoints(uninterrupted, work_dir, (1, 2))
    newest = work_dir / 'epoch_2.pth'
    data = newest.read_bytes()
    newest.write_bytes(data[:len(data) // 2])
    proc = train(work_dir, '--resume', '--cfg-options', *OPTIONS)
    skipped = [
        line for line in proc.stderr.splitlines()
        if line.startswith('--resume: skipping')
    ]
    assert len(skipped) == 1, proc.stderr
    assert skipped[0].startswith(
        f'--resume: skipping {newest} (named by last_checkpoint): cannot '
        f'read the checkpoint {newest} (truncated, corrupt')
    assert f'--resume: resuming from {work_dir}/epoch_1.pth' in proc.stderr
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    assert_finishes_like(uninterrupted, work_dir)
