# Copyright (c) mmista contributors. All rights reserved.
from .version import __version__

__all__ = ['__version__']
