# Copyright (c) mmista contributors. All rights reserved.
"""The one reader of every checkpoint mmista loads: weights-only.

Unpickling a file can run any code its author chose, so every checkpoint
is read with ``torch.load(weights_only=True)``: tensors, numbers, text,
containers, and nothing that calls code. The argument is explicit, so
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (which makes torch load unsafely
where a caller leaves ``weights_only`` unset) has no effect here.

Ordinary mmengine/mmpretrain checkpoints also hold the message hub's
``HistoryBuffer`` objects and numpy arrays and scalars; exactly those types
are allowed, through torch's ``safe_globals`` for the duration of each load
(:data:`SAFE_CHECKPOINT_GLOBALS`). Their pickles reach the buffers'
statistics methods through ``getattr``, which is served by
:func:`history_buffer_method`: it returns those four methods and nothing
else.

:func:`register_checkpoint_loaders` (called by ``import mmista``) installs
this reader for every scheme of mmengine's ``CheckpointLoader``, so
``load_from``, ``resume``, ``init_cfg=dict(type='Pretrained')`` and
``mmpretrain.get_model(..., pretrained=...)`` read files through it. URLs
are downloaded into torch's hub cache (``$TORCH_HOME/hub/checkpoints``,
checked against the SHA-256 prefix of OpenMMLab-style file names) and the
downloaded file is read the same way. See docs/en/notes/security.md.
"""
import io
import os.path as osp
import pickle
import re
import sys
import tempfile
from typing import IO, Callable, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmengine.utils import mkdir_or_exist

from mmista.errors import UserError

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be read, holds objects safe loading refuses,
    or does not fit the model."""


#: The statistics methods that a pickled ``HistoryBuffer`` refers to.
HISTORY_BUFFER_METHODS: Tuple[str, ...] = ('min', 'max', 'current', 'mean')

#: numpy dtypes a checkpoint's arrays and scalars may have: booleans,
#: integers and floats (not objects, strings or structured records).
NUMPY_DTYPE_CODES = '?bBhHiIlLqQefd'


def history_buffer_method(owner: type, name: str) -> Callable:
    """The ``getattr`` that unpickling a ``HistoryBuffer`` calls, restricted
    to :data:`HISTORY_BUFFER_METHODS` of ``HistoryBuffer``.

    Args:
        owner (type): The object the pickle reads an attribute of.
        name (str): The attribute.

    Returns:
        Callable: ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if owner is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refused getattr({getattr(owner, "__name__", owner)}, {name!r}); '
        'only the statistics methods of mmengine HistoryBuffer are allowed')


def _safe_globals() -> List[Union[type, Callable, Tuple[Callable, str]]]:
    globals_ = [
        HistoryBuffer, np.ndarray, np.dtype,
        (history_buffer_method, 'builtins.getattr')
    ]
    # the names numpy 2 writes, and the ones numpy 1 wrote
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        globals_ += [(_multiarray._reconstruct, f'{module}._reconstruct'),
                     (_multiarray.scalar, f'{module}.scalar')]
    globals_ += sorted({type(np.dtype(code))
                        for code in NUMPY_DTYPE_CODES}, key=str)
    return globals_


#: What weights-only loading accepts beyond torch's own types, for
#: ``torch.serialization.safe_globals`` (objects, or ``(object, name)``
#: pairs where the name in the pickle differs from the object's).
SAFE_CHECKPOINT_GLOBALS = _safe_globals()

_REFUSED_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')
_REFUSED_GETATTR = re.compile(r'Refused (getattr\([^)]*\))')
_REFUSED_OTHER = re.compile(r'^(Trying to .*|Can only .*)$', re.MULTILINE)
_URL = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*://')


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else ''
    return f'{type(error).__name__}: {first_line}'.rstrip(': ')


def _unpickler_says(error: BaseException) -> str:
    """The reason in torch's weights-only error, without its advice to
    load unsafely."""
    boilerplate = ('Weights only load failed', 'Check the documentation',
                   'Please file an issue', '(1)', '(2)')
    for line in str(error).splitlines():
        line = line.strip()
        if line and not line.startswith(boilerplate):
            return line
    return type(error).__name__


def _refused(error: BaseException) -> Optional[str]:
    """What weights-only unpickling refused, or None if it did not."""
    text = str(error)
    for pattern, template in ((_REFUSED_GLOBAL, 'it holds the global {}'),
                              (_REFUSED_GETATTR, 'it calls {}'),
                              (_REFUSED_OTHER, 'torch refused it: {}')):
        match = pattern.search(text)
        if match is not None:
            return template.format(match.group(1).rstrip('.'))
    return None


def _torch_load(file: Union[str, IO[bytes]], map_location, mmap: bool):
    HistoryBuffer()  # registers the default statistics methods
    saved_methods = dict(HistoryBuffer._statistics_methods)
    try:
        with torch.serialization.safe_globals(SAFE_CHECKPOINT_GLOBALS):
            if mmap and isinstance(file, str):
                try:
                    return torch.load(
                        file,
                        map_location=map_location,
                        weights_only=True,
                        mmap=True)
                except RuntimeError as error:
                    # torch's legacy (non-zip) format cannot be mapped
                    if 'mmap' not in str(error):
                        raise
            return torch.load(
                file, map_location=map_location, weights_only=True)
    finally:
        # a pickled HistoryBuffer updates its class's statistics methods
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(saved_methods)


def load_checkpoint_file(file: Union[str, IO[bytes]],
                         map_location=None,
                         mmap: bool = False,
                         source: Optional[str] = None) -> dict:
    """Reads a local checkpoint (or a buffer) weights-only.

    Args:
        file (str | IO[bytes]): Path, or a binary buffer.
        map_location: As for :func:`torch.load`. Defaults to None.
        mmap (bool): Memory-map the tensors instead of reading them (a
            path in torch's zip format; others are read). Defaults to False.
        source (str, optional): Where the file came from, for messages.
            Defaults to the path.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: The file is missing, truncated or corrupt, holds
            objects that weights-only loading refuses, or is not a dict.
    """
    source = source or (file if isinstance(file, str) else 'the checkpoint')
    if isinstance(file, str):
        file = osp.expanduser(file)
        if not osp.isfile(file):
            raise CheckpointError(f'checkpoint file not found: {source}')
    try:
        checkpoint = _torch_load(file, map_location, mmap)
    except pickle.UnpicklingError as error:
        refused = _refused(error)
        if refused is None:
            raise CheckpointError(
                f'cannot read the checkpoint {source} (truncated or '
                f'corrupt): {_unpickler_says(error)}') from None
        raise CheckpointError(
            f'refused to load the checkpoint {source}: {refused}, which is '
            'neither weights nor plain data, and unpickling it could run '
            'code. mmista reads checkpoints weights-only (tensors, numbers, '
            'text, containers, numpy arrays, mmengine HistoryBuffer); see '
            'docs/en/notes/security.md') from None
    except Exception as error:  # anything a parser of bytes may raise
        raise CheckpointError(
            f'cannot read the checkpoint {source} (truncated, corrupt or '
            f'not a checkpoint): {_describe(error)}') from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'{source} is not a checkpoint (it holds a '
            f'{type(checkpoint).__name__}, not a dict)')
    return checkpoint


def _download_failed(url: str, error: BaseException) -> CheckpointError:
    return CheckpointError(
        f'cannot download the checkpoint {url} ({_describe(error)}); '
        'without access to it, download the file elsewhere and pass its '
        'local path (it is read weights-only either way)')


def _hash_prefix(file_name: str) -> Optional[str]:
    """The SHA-256 prefix in an OpenMMLab-style name (``...-fbbb1da6.pth``),
    at least 8 hex digits, or None."""
    match = torch.hub.HASH_REGEX.search(file_name)
    if match and len(match.group(1)) >= 8:
        return match.group(1)
    return None


def _fetch_url(url: str, cached: str) -> None:
    if osp.isfile(cached):
        return
    mkdir_or_exist(osp.dirname(cached))
    try:
        torch.hub.download_url_to_file(
            url,
            cached,
            hash_prefix=_hash_prefix(osp.basename(cached)),
            progress=sys.stderr.isatty())
    except (OSError, RuntimeError, ValueError) as error:
        raise _download_failed(url, error) from None


def download_checkpoint(url: str) -> str:
    """Downloads an http(s) checkpoint into torch's hub cache, once.

    The file goes to ``torch.hub.get_dir()/checkpoints`` (where
    ``torch.hub`` and mmengine put downloads) unless it is there already;
    a name ending in ``-<hex>.pth`` (8 or more hex digits, as OpenMMLab
    names its files) must match the file's SHA-256. In a distributed run
    rank 0 downloads first.

    Args:
        url (str): ``http://`` or ``https://`` URL.

    Returns:
        str: The local file.

    Raises:
        CheckpointError: The download failed or the hash differs.
    """
    file_name = osp.basename(urlparse(url).path)
    if not file_name:
        raise CheckpointError(f'the URL {url} names no file to download')
    cached = osp.join(torch.hub.get_dir(), 'checkpoints', file_name)
    rank, world_size = get_dist_info()
    if rank == 0:
        _fetch_url(url, cached)
    if world_size > 1:
        barrier()
        if rank > 0:
            _fetch_url(url, cached)
    return cached


def _load_url(url: str, map_location, mmap: bool) -> dict:
    return load_checkpoint_file(
        download_checkpoint(url), map_location, mmap, source=url)


def _load_model_name(source: str, map_location, mmap: bool) -> dict:
    """``torchvision://``, ``open-mmlab://`` and ``mmcls://`` names: the
    URL (or file in mmengine's home) mmengine's tables give them."""
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            _process_mmcls_checkpoint,
                                            get_deprecated_model_names,
                                            get_external_models,
                                            get_mmcls_models,
                                            get_torchvision_models)
    scheme, name = source.split('://', 1)
    if scheme in ('torchvision', 'modelzoo'):
        table = get_torchvision_models()
    elif scheme == 'mmcls':
        table = get_mmcls_models()
    else:
        table = get_external_models()
        name = get_deprecated_model_names().get(name, name)
    if name not in table:
        raise CheckpointError(
            f'{source}: mmengine knows no model {name!r} for {scheme}://')
    location = table[name]
    if _URL.match(location):
        checkpoint = _load_url(location, map_location, mmap)
    else:
        checkpoint = load_checkpoint_file(
            osp.join(_get_mmengine_home(), location),
            map_location,
            mmap,
            source=source)
    if scheme == 'mmcls':
        checkpoint = _process_mmcls_checkpoint(checkpoint)
    return checkpoint


def _load_pavi(source: str, map_location, mmap: bool) -> dict:
    try:
        from pavi import modelcloud
    except ImportError as error:
        raise _download_failed(source, error) from None
    model = modelcloud.get(source[len('pavi://'):])
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, model.name)
        model.download(path)
        return load_checkpoint_file(path, map_location, source=source)


def _load_petrel(source: str, map_location, mmap: bool) -> dict:
    from mmengine.fileio import get_file_backend
    try:
        data = get_file_backend(
            source, backend_args=dict(backend='petrel')).get(source)
    except (ImportError, OSError) as error:
        raise _download_failed(source, error) from None
    with io.BytesIO(data) as buffer:
        return load_checkpoint_file(buffer, map_location, source=source)


#: mmengine's remote schemes (its ``CheckpointLoader`` prefixes) and how
#: mmista fetches each before reading it weights-only.
REMOTE_SCHEMES = (
    (('http://', 'https://'), _load_url),
    (('modelzoo://', 'torchvision://', 'open-mmlab://', 'openmmlab://',
      'mmcls://'), _load_model_name),
    (('pavi://', ), _load_pavi),
    ((r'(\S+\:)?s3://', r'(\S+\:)?petrel://'), _load_petrel),
)


def is_remote(source: str) -> bool:
    """Whether a checkpoint name is a URL or another remote scheme."""
    return bool(_URL.match(str(source))) or any(
        re.match(prefix, str(source))
        for prefixes, _ in REMOTE_SCHEMES for prefix in prefixes)


def load_checkpoint_safely(source: Union[str, IO[bytes]],
                           map_location=None,
                           mmap: bool = False) -> dict:
    """Reads a checkpoint weights-only, from a path, a buffer or a URL.

    Args:
        source (str | IO[bytes]): A local path or buffer, or a URL of a
            scheme mmengine knows (``https://``, ``torchvision://``, ...).
        map_location: As for :func:`torch.load`. Defaults to None.
        mmap (bool): Memory-map the tensors of a (downloaded) file instead
            of reading them. Defaults to False.

    Returns:
        dict: The checkpoint.

    Raises:
        CheckpointError: See :func:`load_checkpoint_file`; also a failed
            download and an unknown scheme.
    """
    if not isinstance(source, str):
        return load_checkpoint_file(source, map_location)
    for prefixes, loader in REMOTE_SCHEMES:
        if any(re.match(prefix, source) for prefix in prefixes):
            return loader(source, map_location, mmap)
    if _URL.match(source):
        raise CheckpointError(
            f'cannot fetch {source}: mmista reads local files and the '
            'schemes mmengine knows (http://, https://, torchvision://, '
            'open-mmlab://, mmcls://, pavi://, s3://, petrel://); download '
            'it and pass its local path')
    return load_checkpoint_file(source, map_location, mmap)


def load_from_local(filename: str, map_location=None) -> dict:
    """mmengine's ``CheckpointLoader`` scheme for local files."""
    return load_checkpoint_safely(filename, map_location)


def load_from_remote(filename: str, map_location=None) -> dict:
    """mmengine's ``CheckpointLoader`` scheme for URLs and remote names."""
    return load_checkpoint_safely(filename, map_location)


def register_checkpoint_loaders() -> None:
    """Makes mmengine's ``CheckpointLoader`` read every scheme it knows
    through :func:`load_checkpoint_safely` (local files for the prefix
    ``''``). Called by ``import mmista``; calling it again changes
    nothing."""
    CheckpointLoader.register_scheme('', load_from_local, force=True)
    for prefixes, _ in REMOTE_SCHEMES:
        CheckpointLoader.register_scheme(
            list(prefixes), load_from_remote, force=True)
