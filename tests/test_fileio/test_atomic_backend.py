# Copyright (c) mmista contributors. All rights reserved.
"""The atomic_local mmengine file backend: whole files or the old ones."""
import pytest
import torch
from mmengine.fileio import get_file_backend, put, put_text
from mmengine.runner import save_checkpoint

from mmista.fileio import ATOMIC_LOCAL_BACKEND, TEMP_PREFIX, AtomicLocalBackend

ATOMIC = dict(backend=ATOMIC_LOCAL_BACKEND)


def test_the_backend_is_registered(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path), backend_args=ATOMIC),
                      AtomicLocalBackend)


def test_put_replaces_and_a_failed_put_keeps_the_old_file(tmp_path):
    path = tmp_path / 'sub' / 'epoch_1.pth'
    put(b'first', str(path), backend_args=ATOMIC)  # creates the folder
    put(b'second', str(path), backend_args=ATOMIC)
    assert path.read_bytes() == b'second'
    with pytest.raises(TypeError):  # fails after the file was opened
        put(['not', 'bytes'], str(path), backend_args=ATOMIC)
    assert path.read_bytes() == b'second'
    put_text('text', str(path), backend_args=ATOMIC)
    assert path.read_text() == 'text'
    with pytest.raises(TypeError):
        put_text(7, str(path), backend_args=ATOMIC)
    assert path.read_text() == 'text'
    assert sorted(p.name for p in path.parent.iterdir()) == ['epoch_1.pth']
    assert not list(tmp_path.rglob(f'{TEMP_PREFIX}*'))


def test_mmengine_save_checkpoint_through_the_backend(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint(dict(state_dict=dict(w=torch.arange(3.))), str(path),
                    backend_args=ATOMIC)
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.))
