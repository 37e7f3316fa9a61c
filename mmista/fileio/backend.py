# Copyright (c) mmista contributors. All rights reserved.
"""An mmengine file backend whose writes are whole or absent.

mmengine's ``LocalBackend.put`` opens the target ``'wb'``: a run killed
while it saves ``epoch_2.pth`` over a good ``epoch_2.pth`` loses both. This
backend writes through :func:`~mmista.fileio.atomic_write` instead; pass
``backend_args=dict(backend='atomic_local')`` to mmengine's file functions
(``Runner.save_checkpoint``, ``mmengine.fileio.put``, ``dump``) to use it.
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from .atomic import atomic_write

#: The name to give as ``backend_args=dict(backend=...)``.
ATOMIC_LOCAL_BACKEND = 'atomic_local'


@register_backend(ATOMIC_LOCAL_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """Local storage whose ``put`` and ``put_text`` replace the file
    atomically (temporary file in the same folder, fsync, ``os.replace``).

    Reading, listing and removing are :class:`LocalBackend`'s.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Writes bytes to ``filepath`` atomically (creating its folder).

        Args:
            obj (bytes): Data to be written.
            filepath (str or Path): Path to write data.
        """
        with atomic_write(str(filepath), 'wb') as file:
            file.write(obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Writes text to ``filepath`` atomically (creating its folder).

        Args:
            obj (str): Data to be written.
            filepath (str or Path): Path to write data.
            encoding (str): The encoding format used to open the
                ``filepath``. Defaults to 'utf-8'.
        """
        with atomic_write(str(filepath), 'w', encoding=encoding) as file:
            file.write(obj)
