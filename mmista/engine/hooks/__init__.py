# Copyright (c) mmista contributors. All rights reserved.
from .architecture_recovery_hook import (ArchitectureRecoveryHook,
                                         DegenerateRecoveryError)
from .bn_stats_broadcast_hook import BNStatsBroadcastHook
from .config_lr_resume_hook import ConfigLRResumeHook
from .crash_safe_checkpoint_hook import CrashSafeCheckpointHook
from .drop_path_ramp_hook import DropPathRampHook
from .duration_estimate_hook import DurationEstimateHook
from .edge_bn_freeze_hook import EdgeBNFreezeHook
from .epoch_seed_hook import EpochSeedHook
from .export_hook import ExportHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .genotype_checkpoint_hook import GenotypeCheckpointHook
from .genotype_logger_hook import GenotypeLoggerHook
from .phase_switch_hook import PhaseSwitchHook
from .termination_hook import TerminationHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'ArchitectureRecoveryHook', 'BNStatsBroadcastHook', 'ConfigLRResumeHook',
    'CrashSafeCheckpointHook', 'DegenerateRecoveryError', 'DropPathRampHook',
    'DurationEstimateHook', 'EdgeBNFreezeHook', 'EpochSeedHook', 'ExportHook',
    'FiniteLossHook', 'GenotypeLoggerHook', 'NonFiniteLossError',
    'PhaseSwitchHook', 'TerminationHook', 'WeightsOnlyCheckpointHook',
    'GenotypeCheckpointHook'
]
