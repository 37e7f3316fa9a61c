# Copyright (c) mmista contributors. All rights reserved.
from .two_stage_search_loop import TwoStageSearchLoop

__all__ = ['TwoStageSearchLoop']
