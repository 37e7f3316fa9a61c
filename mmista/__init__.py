# Copyright (c) mmista contributors. All rights reserved.
"""mmista: ISTA-NAS neural architecture search as an OpenMMLab toolbox.

Importing the package registers its modules (and mmpretrain's, which its
registries fall back to), so ``custom_imports=dict(imports=['mmista'])`` is
all a config needs. It also makes mmengine read every checkpoint
weights-only (see docs/en/notes/security.md).
"""
from . import sparse_coding  # noqa: F401
from .setup_env import register_all_modules
from .version import __version__

register_all_modules(init_default_scope=False)

__all__ = ['__version__', 'register_all_modules']
