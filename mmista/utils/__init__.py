# Copyright (c) mmista contributors. All rights reserved.
from .checkpoint import (CheckpointError, check_fits, checkpoint_to_load,
                         read_checkpoint, verify_checkpoint)
from .cli import (add_cfg_options, add_runner_args, exit_if_missing,
                  load_config, parse_runner_args)
from .data_check import missing_data
from .dist import finish_distributed, setup_cpu_distributed
from .peak_memory import PeakMemory, cpu_peak_memory_method
from .setup_env import register_all_modules

__all__ = [
    'add_cfg_options', 'add_runner_args', 'exit_if_missing', 'load_config',
    'parse_runner_args', 'register_all_modules', 'setup_cpu_distributed',
    'finish_distributed', 'CheckpointError', 'check_fits',
    'checkpoint_to_load', 'read_checkpoint', 'verify_checkpoint',
    'missing_data', 'PeakMemory', 'cpu_peak_memory_method'
]
