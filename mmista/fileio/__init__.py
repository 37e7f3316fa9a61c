# Copyright (c) mmista contributors. All rights reserved.
"""Reading and writing files safely."""
from .atomic import (TEMP_PREFIX, atomic_copy, atomic_torch_save, atomic_write,
                     atomic_write_text, check_writable)
from .backend import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend

__all__ = [
    'TEMP_PREFIX', 'atomic_copy', 'atomic_write', 'atomic_write_text',
    'atomic_torch_save', 'check_writable', 'ATOMIC_LOCAL_BACKEND',
    'AtomicLocalBackend'
]
