# Copyright (c) mmista contributors. All rights reserved.
"""Files that are either whole or absent: write aside, then replace.

A process killed while it writes a file, or a disk that fills up, leaves a
partial temporary file beside the target and the target as it was (the
previous version, or nothing). The temporary file is flushed and fsynced
before ``os.replace`` moves it over the target, and the folder is fsynced
after, so the new file survives a power cut once the call returns.
"""
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Iterator

import torch

#: Prefix of the temporary files; a crash can leave one behind, which the
#: next write of the same folder does not read.
TEMP_PREFIX = '.tmp-'


def _fsync_folder(folder: str) -> None:
    """Makes a rename in ``folder`` durable (where the OS allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextmanager
def atomic_write(path: str, mode: str = 'wb',
                 encoding: str = 'utf-8') -> Iterator[IO[Any]]:
    """Opens a temporary file that replaces ``path`` when the block ends.

    If the block raises, the temporary file is removed and ``path`` is
    untouched; an ``OSError`` of the write (a full disk) names ``path``.
    The folder of ``path`` is created if needed.

    Args:
        path (str): The file to write.
        mode (str): ``'wb'`` (bytes) or ``'w'`` (text). Defaults to
            ``'wb'``.
        encoding (str): Text encoding (``'w'`` mode). Defaults to
            ``'utf-8'``.

    Yields:
        IO: The temporary file, open for writing.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    descriptor, temp_path = tempfile.mkstemp(
        prefix=TEMP_PREFIX + osp.basename(path) + '.', dir=folder)
    try:
        with os.fdopen(descriptor, mode,
                       **({} if 'b' in mode else {'encoding': encoding})
                       ) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates 0600; give the file the permissions a plain
        # open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
        os.replace(temp_path, path)
    except BaseException as error:
        try:
            os.remove(temp_path)
        except OSError:
            pass
        if isinstance(error, OSError) and error.filename in (None,
                                                             temp_path):
            # a failed write names the file the user knows
            raise OSError(error.errno, error.strerror, path) from error
        raise
    _fsync_folder(folder)


def atomic_write_text(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (see :func:`atomic_write`).

    Args:
        path (str): The file.
        text (str): Its new contents.
    """
    with atomic_write(path, 'w') as file:
        file.write(text)


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` atomically (see :func:`atomic_write`).

    Args:
        obj (Any): What to save (e.g. a checkpoint dict).
        path (str): The file.
    """
    with atomic_write(path, 'wb') as file:
        torch.save(obj, file)


def atomic_copy(source: str, target: str) -> None:
    """Copies the file ``source`` to ``target`` atomically (see
    :func:`atomic_write`).

    Args:
        source (str): The file to copy.
        target (str): The copy.
    """
    with open(source, 'rb') as original, atomic_write(target) as copy:
        shutil.copyfileobj(original, copy)


def check_writable(folder: str) -> None:
    """Creates ``folder`` if needed and writes (and removes) a small file
    in it, so that a read-only or full disk shows before a run starts.

    Args:
        folder (str): E.g. a run's work directory.

    Raises:
        OSError: The folder cannot be created or written to.
    """
    os.makedirs(folder, exist_ok=True)
    probe = osp.join(folder, f'{TEMP_PREFIX}write-check-{os.getpid()}')
    atomic_write_text(probe, 'mmista checks that this folder is writable\n')
    os.remove(probe)
