# Copyright (c) mmista contributors. All rights reserved.
from .drop_path_ramp_hook import DropPathRampHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = ['DropPathRampHook', 'WeightsOnlyCheckpointHook']
