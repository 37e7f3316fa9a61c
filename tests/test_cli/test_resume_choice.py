# Copyright (c) mmista contributors. All rights reserved.
"""Which checkpoint ``tools/train.py --resume`` (no path) continues from."""
import torch
from mmengine.config import Config

from mmista.cli import (checkpoint_to_load, choose_resume_checkpoint,
                        newest_intact_checkpoint)


def save(work_dir, name, epoch=1):
    path = work_dir / name
    torch.save(dict(meta=dict(epoch=epoch),
                    state_dict=dict(weight=torch.ones(8) * epoch)), path)
    return path


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def name_last(work_dir, path):
    (work_dir / 'last_checkpoint').write_text(str(path))


def choose(work_dir):
    lines = []
    return newest_intact_checkpoint(str(work_dir), lines.append), lines


def test_last_checkpoint_first_then_by_number(tmp_path):
    for epoch in (2, 9, 10):
        save(tmp_path, f'epoch_{epoch}.pth', epoch)
    save(tmp_path, 'best_accuracy_top1_epoch_10.pth', 10)
    # no last_checkpoint: the highest number (10, not 9 as text orders)
    assert choose(tmp_path) == (str(tmp_path / 'epoch_10.pth'), [])
    name_last(tmp_path, tmp_path / 'epoch_9.pth')
    path, lines = choose(tmp_path)
    assert path == str(tmp_path / 'epoch_9.pth')
    # epoch 10 was left by an earlier run that this one resumed before it
    assert lines == [
        f'skipping {tmp_path}/epoch_10.pth: beyond {tmp_path}/epoch_9.pth, '
        'the checkpoint that last_checkpoint names as the last one saved'
    ]


def test_broken_checkpoints_are_skipped_with_the_reason(tmp_path):
    save(tmp_path, 'epoch_1.pth', 1)
    save(tmp_path, 'epoch_2.pth', 2)
    truncate(save(tmp_path, 'epoch_3.pth', 3))
    torch.save(dict(state_dict={}), tmp_path / 'epoch_4.pth')
    name_last(tmp_path, tmp_path / 'epoch_5.pth')  # never written
    (tmp_path / 'epoch_6.pth').write_bytes(b'')
    path, lines = choose(tmp_path)
    assert path == str(tmp_path / 'epoch_2.pth')
    assert [line.split(': ')[0] for line in lines] == [
        f'skipping {tmp_path}/epoch_6.pth',
        f'skipping {tmp_path}/epoch_5.pth (named by last_checkpoint)',
        f'skipping {tmp_path}/epoch_4.pth',
        f'skipping {tmp_path}/epoch_3.pth',
    ]
    assert lines[1].endswith(': no such file')
    assert 'holds no meta: not a training checkpoint' in lines[2]
    assert f'cannot read the checkpoint {tmp_path}/epoch_3.pth (truncated' \
        in lines[3]


def test_moved_work_dir(tmp_path):
    """last_checkpoint holds the path at save time; a moved (or relative)
    work dir still finds the file by its name."""
    save(tmp_path, 'epoch_1.pth', 1)
    (tmp_path / 'last_checkpoint').write_text('/gone/run/epoch_1.pth')
    assert choose(tmp_path) == (str(tmp_path / 'epoch_1.pth'), [])


def test_choose_rewrites_an_automatic_resume(tmp_path):
    save(tmp_path, 'epoch_1.pth', 1)
    truncate(save(tmp_path, 'epoch_2.pth', 2))
    name_last(tmp_path, tmp_path / 'epoch_2.pth')
    cfg = Config(dict(work_dir=str(tmp_path), resume=True, load_from=None))
    assert checkpoint_to_load(cfg) == str(tmp_path / 'epoch_1.pth')
    lines = []
    choose_resume_checkpoint(cfg, lines.append)
    assert cfg.load_from == str(tmp_path / 'epoch_1.pth') and cfg.resume
    assert len(lines) == 2 and lines[0].startswith(
        f'skipping {tmp_path}/epoch_2.pth (named by last_checkpoint): ')
    assert lines[1] == f'resuming from {tmp_path}/epoch_1.pth'

    # A path given: left alone, even a broken one (the check names it).
    cfg = Config(dict(work_dir=str(tmp_path), resume=True,
                      load_from=str(tmp_path / 'epoch_2.pth')))
    choose_resume_checkpoint(cfg, lines.append)
    assert cfg.load_from == str(tmp_path / 'epoch_2.pth')


def test_nothing_intact_starts_from_scratch(tmp_path):
    truncate(save(tmp_path, 'epoch_1.pth', 1))
    name_last(tmp_path, tmp_path / 'epoch_1.pth')
    cfg = Config(dict(work_dir=str(tmp_path), resume=True, load_from=None))
    lines = []
    choose_resume_checkpoint(cfg, lines.append)
    assert not cfg.resume and cfg.load_from is None
    assert lines[-1] == (f'no intact checkpoint in {tmp_path} to resume '
                         'from; training starts from scratch')
    assert checkpoint_to_load(cfg) is None
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert choose(empty) == (None, [])
