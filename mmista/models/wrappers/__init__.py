# Copyright (c) mmista contributors. All rights reserved.
from .search_ddp import SearchDistributedDataParallel

__all__ = ['SearchDistributedDataParallel']
