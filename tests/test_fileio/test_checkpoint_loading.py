# Copyright (c) mmista contributors. All rights reserved.
"""Every checkpoint mmista reads is read weights-only, also with
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1, and ordinary mmengine checkpoints
still load."""
import functools
import hashlib
import http.server
import pickle
import threading
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import _load_checkpoint

import mmista  # noqa: F401  (installs the loader)
from mmista.fileio import checkpoint_loading
from mmista.fileio.checkpoint_loading import (CheckpointError,
                                              load_checkpoint_file,
                                              load_checkpoint_safely)
from ..crafted_checkpoints import (mmengine_run_contents,
                                   save_code_running_checkpoint)


@pytest.fixture
def unsafe_env(monkeypatch):
    """What users set to get past torch's own refusal."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')


@pytest.fixture
def code_running(tmp_path):
    path, marker = tmp_path / 'evil.pth', tmp_path / 'MARKER'
    save_code_running_checkpoint(path, marker)
    return path, marker


def test_the_crafted_file_runs_code_under_plain_torch_load(
        unsafe_env, code_running):
    # the premise: with the variable set, a bare torch.load runs the code
    path, marker = code_running
    with pytest.warns(UserWarning, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        torch.load(str(path))
    assert marker.exists()


@pytest.mark.parametrize('load', [
    lambda path: load_checkpoint_file(path),
    lambda path: load_checkpoint_file(path, mmap=True),
    lambda path: load_checkpoint_safely(path, 'cpu'),
    lambda path: _load_checkpoint(path, 'cpu'),  # mmengine's entry point
    lambda path: CheckpointLoader.load_checkpoint(path, logger='silent'),
],
                         ids=['file', 'mmap', 'safely', 'mmengine',
                              'CheckpointLoader'])
def test_code_is_never_run(unsafe_env, code_running, load):
    path, marker = code_running
    with pytest.raises(CheckpointError) as error:
        load(str(path))
    assert not marker.exists()
    message = str(error.value)
    assert f'refused to load the checkpoint {path}' in message
    assert 'posix.system' in message and '\n' not in message
    assert 'docs/en/notes/security.md' in message


def test_every_mmengine_scheme_reads_through_mmista():
    loaders = set(CheckpointLoader._schemes.values())
    assert loaders == {
        checkpoint_loading.load_from_local,
        checkpoint_loading.load_from_remote
    }
    assert CheckpointLoader._get_checkpoint_loader('some/file.pth') is \
        checkpoint_loading.load_from_local


def test_ordinary_mmengine_checkpoint_loads(unsafe_env, tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(mmengine_run_contents({'w': torch.ones(2)}), str(path))
    before = dict(HistoryBuffer._statistics_methods)
    checkpoint = load_checkpoint_file(str(path))
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert loss.current() == pytest.approx(1 / 3)
    eta = checkpoint['message_hub']['runtime_info']['eta']
    assert isinstance(eta, np.float64) and eta == 12.5
    assert checkpoint['meta']['dataset_meta'] == dict(classes=('a', ))
    assert HistoryBuffer._statistics_methods == before


def test_numpy_1_names_load(tmp_path):
    # numpy 1.x wrote numpy.core.multiarray where numpy 2 writes _core
    path = tmp_path / 'numpy1.pth'
    buffer = path.with_suffix('.tmp')
    torch.save(
        mmengine_run_contents({}),
        str(buffer),
        _use_new_zipfile_serialization=False)
    data = buffer.read_bytes()
    assert b'numpy._core.multiarray' in data
    path.write_bytes(
        data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    checkpoint = load_checkpoint_file(str(path), mmap=True)
    assert checkpoint['message_hub']['log_scalars']['train/loss'].mean() > 0


class _ReadsAttribute:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


@pytest.mark.parametrize('owner, name', [(np.ndarray, 'tofile'),
                                         (HistoryBuffer, 'update'),
                                         (HistoryBuffer, '__init__')])
def test_getattr_reaches_only_history_buffer_statistics(
        tmp_path, owner, name):
    path = tmp_path / 'getattr.pth'
    torch.save(dict(meta=_ReadsAttribute(owner, name)), str(path))
    with pytest.raises(CheckpointError, match=f"it calls getattr.*'{name}'"):
        load_checkpoint_file(str(path))


def test_a_file_cannot_rebind_history_buffer_statistics(tmp_path):
    # a pickled HistoryBuffer updates its class's statistics methods
    path = tmp_path / 'rebinds.pth'
    contents = mmengine_run_contents({})
    HistoryBuffer._statistics_methods['mean'] = HistoryBuffer.max
    try:
        torch.save(contents, str(path))
    finally:
        HistoryBuffer._statistics_methods['mean'] = HistoryBuffer.mean
    checkpoint = load_checkpoint_file(str(path))
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert loss.statistics('mean') == pytest.approx(loss.mean())


@pytest.mark.parametrize('content, reason', [
    (b'', 'EOFError'),
    (b'hello, not a checkpoint', 'not a checkpoint'),
])
def test_unreadable_files_are_named(tmp_path, content, reason):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(str(path), mmap=True)
    assert f'cannot read the checkpoint {path}' in str(error.value)
    assert reason in str(error.value)


def test_truncated_and_missing_and_non_dict(tmp_path):
    path = tmp_path / 'whole.pth'
    torch.save(mmengine_run_contents({'w': torch.ones(1000)}), str(path))
    data = path.read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated, corrupt'):
        load_checkpoint_file(str(truncated))
    with pytest.raises(CheckpointError, match='checkpoint file not found'):
        load_checkpoint_file(str(tmp_path / 'absent.pth'))
    torch.save(torch.ones(2), str(path))
    with pytest.raises(CheckpointError, match='holds a Tensor, not a dict'):
        load_checkpoint_file(str(path))


def test_corrupt_pickle_is_not_told_to_load_unsafely(tmp_path):
    # a whole zip whose pickle is garbage: torch's weights-only error
    # advises weights_only=False; the message keeps only the reason
    whole, corrupt = tmp_path / 'whole.pth', tmp_path / 'corrupt.pth'
    torch.save(dict(a=1), str(whole))
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(corrupt,
                                                           'w') as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(
                name, b'\x80\x02i\x00' if name.endswith('data.pkl') else data)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_file(str(corrupt))
    assert str(error.value) == (
        f'cannot read the checkpoint {corrupt} (truncated or corrupt): '
        'Unsupported operand 105')


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1, and torch's hub cache in tmp_path."""
    served = tmp_path / 'served'
    served.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    monkeypatch.setenv('no_proxy', '127.0.0.1')
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0),
        functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def test_url_is_downloaded_once_and_read_weights_only(
        http_folder, tmp_path, unsafe_env):
    served, root = http_folder
    torch.save(mmengine_run_contents({'w': torch.ones(3)}),
               str(served / 'plain.pth'))
    checkpoint = _load_checkpoint(f'{root}/plain.pth', 'cpu')
    assert torch.equal(checkpoint['state_dict']['w'], torch.ones(3))
    cached = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'plain.pth'
    assert cached.is_file()
    (served / 'plain.pth').unlink()  # the cached copy is read
    assert load_checkpoint_safely(f'{root}/plain.pth')['meta']['epoch'] == 1

    marker = tmp_path / 'MARKER'
    save_code_running_checkpoint(served / 'evil.pth', marker)
    with pytest.raises(CheckpointError, match='refused to load'):
        _load_checkpoint(f'{root}/evil.pth', 'cpu')
    assert not marker.exists()


def test_openmmlab_style_names_are_checked_against_their_hash(
        http_folder, tmp_path):
    served, root = http_folder
    path = served / 'model.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1)}), str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    good = f'model_20210831-{digest[:8]}.pth'
    bad = 'model_20210831-0123abcd.pth'
    for name in (good, bad):
        (served / name).write_bytes(path.read_bytes())
    assert 'state_dict' in load_checkpoint_safely(f'{root}/{good}')
    with pytest.raises(CheckpointError) as error:
        load_checkpoint_safely(f'{root}/{bad}')
    assert f'cannot download the checkpoint {root}/{bad}' in str(error.value)
    assert 'hash' in str(error.value)
    assert not (tmp_path / 'torch_home' / 'hub' / 'checkpoints' / bad).exists()


def test_unreachable_url_and_unknown_scheme_have_their_own_message(
        tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    # port 1 on the loopback: nothing listens, the connection is refused
    url = 'http://127.0.0.1:1/model.pth'
    with pytest.raises(CheckpointError) as error:
        _load_checkpoint(url, 'cpu')
    assert f'cannot download the checkpoint {url}' in str(error.value)
    assert 'pass its local path' in str(error.value)
    with pytest.raises(CheckpointError, match='mmista reads local files'):
        load_checkpoint_safely('ftp://example.org/model.pth')


def test_refusal_is_an_unpickling_error_for_torch():
    # torch wraps the restricted getattr's refusal like its own
    with pytest.raises(pickle.UnpicklingError):
        checkpoint_loading.history_buffer_method(np.ndarray, 'tofile')
