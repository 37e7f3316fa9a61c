# Copyright (c) mmista contributors. All rights reserved.
"""What the command-line tools in ``tools/`` share: argument parsing,
checks of paths, config values, data and checkpoints with actionable
messages, CPU distributed set-up and peak-memory measurement. Nothing in
the library layers (models, engine, sparse coding) imports it."""
from .arguments import (add_cfg_options, add_runner_args, exit_if_missing,
                        load_config, parse_runner_args)
from .checkpoint import (CheckpointError, check_fits, checkpoint_to_load,
                         choose_resume_checkpoint, intact_checkpoint_problem,
                         newest_intact_checkpoint, read_checkpoint,
                         verify_checkpoint)
from .config_check import (check_batch_sizes, check_num_classes,
                           check_run_length, check_test_classes,
                           check_train_config, uses_train_loop)
from .data_check import dataset_classes, folder_dataset_problem, missing_data
from .dist import (collective_failure_message, collective_timeout,
                   finish_distributed, setup_cpu_distributed)
from .divergence import divergence_advice, newest_finite_checkpoint
from .errors import disk_error_message, reported_errors
from .evaluation_base import (VariantMismatchError, check_base, pick_base,
                              shipped_bases, shown_path, variant_mismatches)
from .evaluation_config import (assignments_text, config_text, python_string,
                                python_value)
from .head_widths import backbone_out_channels, fit_head_to_backbone
from .peak_memory import PeakMemory, cpu_peak_memory_method
from .runner import build_runner, dataloader_defaults

__all__ = [
    'add_cfg_options', 'add_runner_args', 'exit_if_missing', 'load_config',
    'parse_runner_args', 'setup_cpu_distributed', 'finish_distributed',
    'CheckpointError', 'check_fits', 'checkpoint_to_load', 'read_checkpoint',
    'verify_checkpoint', 'newest_intact_checkpoint',
    'intact_checkpoint_problem', 'choose_resume_checkpoint', 'missing_data',
    'folder_dataset_problem', 'dataset_classes', 'check_run_length',
    'check_batch_sizes', 'check_num_classes', 'check_train_config',
    'check_test_classes',
    'PeakMemory', 'cpu_peak_memory_method', 'reported_errors',
    'disk_error_message', 'build_runner', 'divergence_advice',
    'newest_finite_checkpoint', 'collective_timeout',
    'collective_failure_message', 'fit_head_to_backbone',
    'backbone_out_channels', 'VariantMismatchError', 'check_base',
    'pick_base', 'shown_path', 'variant_mismatches', 'assignments_text',
    'config_text', 'python_string', 'python_value', 'dataloader_defaults',
    'shipped_bases', 'uses_train_loop'
]
