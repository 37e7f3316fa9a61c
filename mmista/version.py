# Copyright (c) mmista contributors. All rights reserved.
__version__ = '0.1.0'
