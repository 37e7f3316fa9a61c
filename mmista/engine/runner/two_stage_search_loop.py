# Copyright (c) mmista contributors. All rights reserved.
"""The epoch loop of two-stage search: one batch of each split per step."""
from typing import Dict, Iterator, List, Optional, Tuple, Union

from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmista.registry import LOOPS
from ..utils import diff_rank_seed


@LOOPS.register_module()
class TwoStageSearchLoop(EpochBasedTrainLoop):
    """Epoch-based search over two data splits.

    See docs/en/method/twostage.md.

    ``dataloader`` (the runner's ``train_dataloader``) is the split that
    trains the network weights and sets the epoch length; ``arch_dataloader``
    (by default the config's top-level ``arch_dataloader``, beside
    ``train_dataloader``) is the split that trains the architecture, cycled
    as long as needed.
    Every iteration hands the model ``dict(arch=arch_batch,
    weight=weight_batch)`` (see :meth:`SearchClassifier.train_step`).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The weight split.
        max_epochs (int): Search epochs.
        val_begin (int): First epoch that validates. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1.
        dynamic_intervals (list[tuple[int, int]], optional): See
            :class:`mmengine.runner.EpochBasedTrainLoop`.
        arch_dataloader (DataLoader | dict, optional): The architecture
            split. Defaults to the config's ``arch_dataloader``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
                 arch_dataloader: Union[DataLoader, Dict, None] = None):
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        if arch_dataloader is None:
            arch_dataloader = runner.cfg.get('arch_dataloader')
        if arch_dataloader is None:
            raise ValueError(
                'TwoStageSearchLoop needs the architecture split: set '
                '`arch_dataloader` in the config (beside train_dataloader) '
                'or in train_cfg')
        if isinstance(arch_dataloader, dict):
            arch_dataloader = runner.build_dataloader(
                arch_dataloader,
                seed=runner.seed,
                diff_rank_seed=diff_rank_seed(runner))
        self.arch_dataloader = arch_dataloader
        self._arch_passes = 0

    def _arch_batches(self) -> Iterator:
        """Yields architecture batches forever, reshuffling every pass."""
        while True:
            sampler = getattr(self.arch_dataloader, 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self._arch_passes)
            self._arch_passes += 1
            yield from self.arch_dataloader

    def run_epoch(self) -> None:
        """Iterates one epoch of the weight split."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        self._arch_passes = self._epoch
        arch_batches = self._arch_batches()
        for idx, weight_batch in enumerate(self.dataloader):
            self.run_iter(idx, dict(arch=next(arch_batches),
                                    weight=weight_batch))
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
