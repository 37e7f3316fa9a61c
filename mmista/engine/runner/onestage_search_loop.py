# Copyright (c) mmista contributors. All rights reserved.
"""The epoch loop of one-stage search, and the order of its stages."""
import copy
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmista.registry import HOOKS, LOOPS


class SearchStage(NamedTuple):
    """One step of the one-stage pipeline.

    Attributes:
        key (str): The key of its hook config in ``train_cfg.stages``.
        hook (str): The hook type that does it (or a subclass of it).
        priority (str): The hook's mmengine priority: stages run in the
            order of :data:`ONESTAGE_STAGES`, placed among mmengine's
            default hooks by these priorities.
        does (str): What it does, for the log and the docs' diagram.
        required (bool): Whether a run must have it.
    """

    key: str
    hook: str
    priority: str
    does: str
    required: bool = True


#: What happens at every epoch boundary of a one-stage search, in order.
#: The hooks' ``before_train_epoch`` run in this order when an epoch
#: starts (recovery after the previous epoch, then the termination test on
#: that recovery, then the BatchNorms follow the termination flags, then the
#: phase switch when every node has terminated, then the drop-path of the
#: epoch); ``ExportHook`` runs when training ends.
ONESTAGE_STAGES: Tuple[SearchStage, ...] = (
    SearchStage('recovery', 'ArchitectureRecoveryHook', 'NORMAL',
                'LASSO of every searching node: new supports and weights'),
    SearchStage('termination', 'TerminationHook', 'BELOW_NORMAL',
                'a node whose z moved at most eps stops searching'),
    SearchStage('bn_freeze', 'EdgeBNFreezeHook', 'LOW',
                'edge BatchNorms of searching nodes frozen at 1, 0; '
                'those of terminated nodes train'),
    SearchStage('phase_switch', 'PhaseSwitchHook', 'LOW',
                'all terminated: architecture fixed, fresh lr schedule, '
                'run length = switch + eval_epochs'),
    SearchStage('drop_path', 'DropPathRampHook', 'LOW',
                'drop-path 0 while searching, then ramped', False),
    SearchStage('export', 'ExportHook', 'LOW',
                'after the last epoch: BN absorption and an mmpretrain '
                'export', False),
)


@LOOPS.register_module()
class OneStageSearchLoop(EpochBasedTrainLoop):
    """Epoch-based one-stage search followed by evaluation training.

    The loop registers the hooks of :data:`ONESTAGE_STAGES` from
    ``stages``, a dict keyed by stage, so a config overrides one field of
    one stage (``train_cfg = dict(stages=dict(termination=dict(eps=5e-3)))``)
    and the order is the table's, whatever the config says. A stage set to
    None is left out (only ``drop_path`` and ``export`` may be). The same
    hooks must not also be in ``custom_hooks``.

    The run's length starts at ``max_epochs`` (a bound: the search cap
    plus the evaluation epochs) and changes only through
    :meth:`set_max_epochs`, which :class:`~mmista.engine.PhaseSwitchHook`
    calls when the architecture is fixed.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The training data.
        max_epochs (int): Bound on the run's epochs until the switch.
        stages (dict[str, dict | None]): Hook config per stage key.
        val_begin (int): First epoch that validates. Defaults to 1.
        val_interval (int): Validation interval. Defaults to 1.
        dynamic_intervals (list[tuple[int, int]], optional): See
            :class:`mmengine.runner.EpochBasedTrainLoop`.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 stages: Dict[str, Optional[dict]],
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None):
        super().__init__(runner, dataloader, max_epochs, val_begin,
                         val_interval, dynamic_intervals)
        self.stage_hooks = self._register_stages(runner, stages)
        runner.logger.info('One-stage search, at each epoch boundary: ' +
                           ' -> '.join(f'{key} ({type(hook).__name__})'
                                       for key, hook in self.stage_hooks))

    @staticmethod
    def _register_stages(runner, stages: Dict[str, Optional[dict]]) -> list:
        """Builds and registers the stage hooks in the table's order.

        Returns:
            list[tuple[str, Hook]]: ``(key, hook)`` of each stage run.
        """
        known = [stage.key for stage in ONESTAGE_STAGES]
        unknown = sorted(set(stages) - set(known))
        if unknown:
            raise KeyError(f'train_cfg.stages has unknown keys {unknown}; '
                           f'the one-stage stages are {known}')
        registered = []
        for stage in ONESTAGE_STAGES:
            cfg = stages.get(stage.key)
            if cfg is None:
                if stage.required:
                    raise KeyError(
                        f'train_cfg.stages.{stage.key} is required (a '
                        f'{stage.hook} config)')
                continue
            cfg = copy.deepcopy(dict(cfg))
            cfg.setdefault('type', stage.hook)
            hook_type = HOOKS.get(cfg['type']) if isinstance(
                cfg['type'], str) else cfg['type']
            expected = HOOKS.get(stage.hook)
            if not (isinstance(hook_type, type)
                    and issubclass(hook_type, expected)):
                raise TypeError(
                    f'train_cfg.stages.{stage.key} must build a '
                    f'{stage.hook} (or a subclass), got type='
                    f'{cfg["type"]!r}')
            hook = HOOKS.build(cfg)
            duplicates = [
                type(other).__name__ for other in runner.hooks
                if isinstance(other, expected)
            ]
            if duplicates:
                raise ValueError(
                    f'{duplicates[0]} is in custom_hooks and in '
                    f'train_cfg.stages.{stage.key}: a one-stage search takes '
                    'its stage hooks from train_cfg.stages only; remove it '
                    'from custom_hooks')
            runner.register_hook(hook, priority=stage.priority)
            registered.append((stage.key, hook))
        return registered

    def set_max_epochs(self, max_epochs: int) -> None:
        """Sets the run's length (the phase switch: switch epoch plus the
        evaluation epochs; a resumed run: the same again).

        Args:
            max_epochs (int): Epochs of the whole run.

        Raises:
            ValueError: If ``max_epochs`` is below the epochs trained.
        """
        if max_epochs < self._epoch:
            raise ValueError(f'max_epochs={max_epochs} is below the '
                             f'{self._epoch} epochs already trained')
        self._max_epochs = int(max_epochs)
        self._max_iters = self._max_epochs * len(self.dataloader)
