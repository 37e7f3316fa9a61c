# Copyright (c) mmista contributors. All rights reserved.
from .export import EXPORT_FILES, export_search_model

__all__ = ['EXPORT_FILES', 'export_search_model']
