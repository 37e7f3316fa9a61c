# Copyright (c) mmista contributors. All rights reserved.
"""From one-stage search to evaluation training, in the same run."""
import copy
from typing import List, Union

from mmengine.hooks import Hook

from mmista.errors import checked_int
from mmista.registry import HOOKS, PARAM_SCHEDULERS
from ..derived_training import (optimizer_sizes, restore_architecture,
                                train_derived_network_only, weights_wrapper)
from ..runner import OneStageSearchLoop
from ..search_state import SEARCHING_NODES, SearchState
from ..utils import unwrapped_model

#: ``checkpoint['meta']`` key: the epoch the architecture was fixed at
#: (-1: still searching), read when a run resumes.
FIXED_EPOCH_META = 'architecture_fixed_epoch'
#: Where a one-stage config sets this hook's arguments.
STAGES_KEY = 'train_cfg.stages.phase_switch'


@HOOKS.register_module()
class PhaseSwitchHook(Hook):
    """Fixes the architecture when every node has terminated.

    See docs/en/method/onestage.md.

    At the start of the first epoch that finds every node terminated, the
    run becomes evaluation training without restarting:

    - the architecture is marked fixed at that epoch (checkpointed), so
      recoveries stop and ``b`` stays out of training;
    - the candidate ops outside the supports leave training (their
      gradients and the weights optimizer), so that from here the run
      trains exactly the derived network
      (:func:`~mmista.engine.derived_training.train_derived_network_only`);
    - the weights optimizer gets a fresh learning-rate schedule: its
      learning rates go back to their initial values and
      ``param_scheduler`` runs over ``eval_epochs`` from there (the
      schedulers' ``begin``/``end`` count from the switch);
    - the run's length becomes the switch epoch plus ``eval_epochs``
      (through :meth:`OneStageSearchLoop.set_max_epochs`).

    The ``phase_switch`` stage of :class:`OneStageSearchLoop`.

    The log says when and at which epoch the architecture was fixed, and
    every iteration's log line (and the visualizer) carries
    ``searching_nodes``, the nodes still searching (0 after the switch). A
    run resumed after the switch gets the evaluation schedule and length
    back, and narrows its optimizer before the checkpoint's optimizer state
    is loaded.
    ``train_cfg.max_epochs`` only bounds the run until the switch: set it to
    at least the search cap plus ``eval_epochs``.

    Args:
        eval_epochs (int): Epochs of evaluation training after the switch.
        param_scheduler (dict | list[dict]): Schedulers of the ``weights``
            optimizer for evaluation training (e.g. cosine to 0). ``begin``
            defaults to 0 and ``end`` to ``eval_epochs`` (so a cosine's
            ``T_max`` can be left out).
        optimizer (str): The wrapper the schedule drives. Defaults to
            ``'weights'``.

    Raises:
        ConfigError: ``eval_epochs`` is not an integer >= 1.
    """

    priority = 'LOW'

    def __init__(self,
                 eval_epochs: int,
                 param_scheduler: Union[dict, List[dict]],
                 optimizer: str = 'weights'):
        eval_epochs = checked_int(
            eval_epochs, f'{STAGES_KEY}.eval_epochs',
            what='epochs of evaluation training after the architecture is '
            'fixed')
        if isinstance(param_scheduler, dict):
            param_scheduler = [param_scheduler]
        self.eval_epochs = eval_epochs
        self.scheduler_cfgs = [dict(cfg) for cfg in param_scheduler]
        self.optimizer = optimizer
        self._searching_nodes = 0
        self._schedule_restored = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Records in the checkpoint's meta whether the run is past the
        switch."""
        checkpoint.setdefault('meta', {})[FIXED_EPOCH_META] = \
            self._state(runner).fixed_epoch

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """When the checkpoint is past the switch: takes the ops outside its
        supports out of training (before the runner loads the optimizer's
        state, which holds the derived network's parameters only) and
        installs the evaluation schedule (before the runner restores the
        schedulers' state)."""
        fixed_epoch = checkpoint.get('meta', {}).get(FIXED_EPOCH_META, -1)
        if fixed_epoch < 0:
            return
        backbone = unwrapped_model(runner).backbone
        restore_architecture(backbone, checkpoint.get('state_dict', {}))
        train_derived_network_only(backbone, runner.optim_wrapper)
        if runner.param_schedulers is not None:
            self._install_schedulers(runner, reset_lr=False)
            self._schedule_restored = True

    def before_train(self, runner) -> None:
        """Restores the evaluation length of a resumed run, or says how
        long the ETA assumes the search to be."""
        loop = runner.train_loop
        if not isinstance(loop, OneStageSearchLoop):
            raise TypeError(
                'PhaseSwitchHook changes the run length through '
                "OneStageSearchLoop: set train_cfg = dict(type="
                "'OneStageSearchLoop', ...) with the hook in "
                f'train_cfg.stages (got {type(loop).__name__})')
        state = self._state(runner)
        if state.is_fixed:
            loop.set_max_epochs(state.fixed_epoch + self.eval_epochs)
            train_derived_network_only(state.supernet, runner.optim_wrapper)
            if not self._schedule_restored:
                self._install_schedulers(runner, reset_lr=False)
                runner.logger.warning(
                    'Resumed past the phase switch from a checkpoint whose '
                    f"meta lacks '{FIXED_EPOCH_META}' (written by an older "
                    'mmista): the evaluation learning-rate schedule starts '
                    'again from the current learning rate')
        else:
            runner.logger.info(
                'Searching: until the architecture is fixed the ETA assumes '
                f'the longest run, {runner.max_epochs} epochs (the search '
                f'cap plus {self.eval_epochs} evaluation epochs); '
                '`searching_nodes` in the log counts the nodes still '
                'searching.')

    def before_train_epoch(self, runner) -> None:
        """Switches when every node has terminated."""
        state = self._state(runner)
        self._searching_nodes = len(state.searching_nodes())
        if state.is_fixed or not state.all_terminated:
            return
        epoch = runner.epoch
        state.fix(epoch)
        before = optimizer_sizes(runner.optim_wrapper)
        train_derived_network_only(state.supernet, runner.optim_wrapper)
        after = optimizer_sizes(runner.optim_wrapper)
        self._install_schedulers(runner, reset_lr=True)
        runner.train_loop.set_max_epochs(epoch + self.eval_epochs)
        runner.logger.info(
            f'Architecture fixed after epoch {epoch}: every node has '
            f'terminated. Evaluation training for {self.eval_epochs} epochs '
            f'(to epoch {epoch + self.eval_epochs}) with a fresh learning-'
            f'rate schedule, of the derived network only: '
            f'{after["tensors"]} of the {before["tensors"]} weight tensors '
            f'({after["elements"]:,} of {before["elements"]:,} values) keep '
            f'training; the ops outside the supports are left out. '
            f'Genotype: {state.genotype()}')

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Puts the number of searching nodes into the iteration log (and
        the visualizer): 0 once the architecture is fixed. (Before the
        iteration, so that the logger's ``after_train_iter`` has it.)"""
        runner.message_hub.update_scalar(SEARCHING_NODES,
                                         self._searching_nodes)

    def after_train(self, runner) -> None:
        """Warns if the run ended before the architecture was fixed."""
        if not self._state(runner).is_fixed:
            runner.logger.warning(
                'Training ended before every node terminated: the '
                'architecture was never fixed (raise train_cfg.max_epochs, '
                'or set max_search_epochs of the termination stage)')

    def _state(self, runner) -> SearchState:
        return SearchState(runner, type(self).__name__)

    def _install_schedulers(self, runner, reset_lr: bool) -> None:
        """Replaces the optimizer's schedulers with the evaluation ones."""
        wrapper = weights_wrapper(runner.optim_wrapper, self.optimizer)
        if reset_lr:
            for group in wrapper.optimizer.param_groups:
                group['lr'] = group.get('initial_lr', group['lr'])
        schedulers = []
        for cfg in self.scheduler_cfgs:
            cfg = copy.deepcopy(cfg)
            cfg.setdefault('begin', 0)
            cfg.setdefault('end', self.eval_epochs)
            schedulers.append(
                PARAM_SCHEDULERS.build(
                    cfg,
                    default_args=dict(
                        optimizer=wrapper,
                        epoch_length=len(runner.train_dataloader))))
        if isinstance(runner.param_schedulers, dict):
            runner.param_schedulers[self.optimizer] = schedulers
        else:
            runner.param_schedulers = schedulers
