# Copyright (c) mmista contributors. All rights reserved.
"""Checkpoints that say which genotype they hold."""
from typing import Iterator, Tuple

import torch.nn as nn
from mmengine.hooks import Hook

from mmista.fileio.checkpoint_loading import load_checkpoint_safely
from mmista.models.genotype_record import (check_recorded_genotype,
                                           derived_genotype, record_genotype)
from mmista.registry import HOOKS
from ..utils import unwrapped_model


def pretrained_checkpoints(model: nn.Module) -> Iterator[Tuple[nn.Module,
                                                               str]]:
    """The modules of a model that ``init_cfg=dict(type='Pretrained')``
    initialises, with their checkpoints.

    Args:
        model (nn.Module): The (unwrapped) model.

    Yields:
        tuple[nn.Module, str]: A module and its ``init_cfg.checkpoint``.
    """
    for module in model.modules():
        init_cfg = getattr(module, 'init_cfg', None)
        for cfg in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
            if isinstance(cfg, dict) and str(cfg.get('type', '')).split(
                    '.')[-1] == 'Pretrained' and cfg.get('checkpoint'):
                yield module, cfg['checkpoint']


@HOOKS.register_module()
class GenotypeCheckpointHook(Hook):
    """Records a derived network's genotype in its checkpoints and refuses
    checkpoints saved from another one.

    Genotypes that differ only by pool type give networks with the same
    parameter names and shapes, so a checkpoint of one would load into the
    other silently. The hook writes the genotype under
    ``checkpoint['meta']['genotype']`` and compares it when ``load_from``,
    ``resume`` or ``init_cfg=dict(type='Pretrained')`` loads a checkpoint;
    checkpoints without one load as before. Models without a derived
    network (search super-nets) are left alone.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        """Checks the checkpoints that ``init_cfg`` Pretrained loaded."""
        for module, checkpoint in pretrained_checkpoints(
                unwrapped_model(runner)):
            if derived_genotype(module) is None:
                continue
            check_recorded_genotype(
                module,
                load_checkpoint_safely(checkpoint, 'cpu', mmap=True),
                checkpoint)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Records the genotype in the checkpoint's meta."""
        record_genotype(
            unwrapped_model(runner), checkpoint.setdefault('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuses a checkpoint whose recorded genotype is not the
        model's."""
        source = runner.cfg.get('load_from') or \
            'the latest checkpoint of the work dir'
        check_recorded_genotype(unwrapped_model(runner), checkpoint, source)
