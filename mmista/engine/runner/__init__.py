# Copyright (c) mmista contributors. All rights reserved.
from .onestage_search_loop import (ONESTAGE_STAGES, OneStageSearchLoop,
                                   SearchStage)
from .two_stage_search_loop import TwoStageSearchLoop

__all__ = [
    'ONESTAGE_STAGES', 'OneStageSearchLoop', 'SearchStage',
    'TwoStageSearchLoop'
]
