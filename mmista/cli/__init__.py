# Copyright (c) mmista contributors. All rights reserved.
"""What the command-line tools in ``tools/`` share: argument parsing,
checks of paths, data and checkpoints with actionable messages, CPU
distributed set-up and peak-memory measurement. Nothing in the library
layers (models, engine, sparse coding) imports it."""
from .arguments import (add_cfg_options, add_runner_args, exit_if_missing,
                        load_config, parse_runner_args)
from .checkpoint import (CheckpointError, check_fits, checkpoint_to_load,
                         read_checkpoint, verify_checkpoint)
from .data_check import folder_dataset_problem, missing_data
from .dist import (collective_failure_message, collective_timeout,
                   finish_distributed, setup_cpu_distributed)
from .errors import disk_error_message, reported_errors
from .peak_memory import PeakMemory, cpu_peak_memory_method
from .runner import build_runner

__all__ = [
    'add_cfg_options', 'add_runner_args', 'exit_if_missing', 'load_config',
    'parse_runner_args', 'setup_cpu_distributed', 'finish_distributed',
    'CheckpointError', 'check_fits', 'checkpoint_to_load', 'read_checkpoint',
    'verify_checkpoint', 'missing_data', 'folder_dataset_problem',
    'PeakMemory', 'cpu_peak_memory_method', 'reported_errors',
    'disk_error_message', 'build_runner', 'collective_timeout',
    'collective_failure_message'
]
