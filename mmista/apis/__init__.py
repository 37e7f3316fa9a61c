# Copyright (c) mmista contributors. All rights reserved.
from .export import EXPORT_FILES, export_search_model
from .export_config import exported_config

__all__ = ['EXPORT_FILES', 'export_search_model', 'exported_config']
