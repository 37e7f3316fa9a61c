# Copyright (c) mmista contributors. All rights reserved.
"""The one-stage termination condition, node by node."""
import copy
import math
import numbers
from typing import List, Optional, Tuple

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from mmista.errors import ConfigError, checked_int
from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES
from ..architecture_travel import (REFERENCE_EPOCH, ArchitectureTravel,
                                   architecture_lr, check_reference_epoch,
                                   reference_spread, reference_travel,
                                   set_architecture_lr, spread_of)
from ..learning_check import (CHANCE_EPOCHS, EPOCH_LOSS, chance_loss,
                              near_chance_loss, num_classes_of)
from ..search_state import SearchState

#: Where a one-stage config sets this hook's arguments.
STAGES_KEY = 'train_cfg.stages.termination'
#: Message-hub info: the mean |w| of the support weights at the start.
INITIAL_SUPPORT_WEIGHT = 'search/initial_support_weight'
#: The loss guard's margin, also what the warnings call near chance.
DEFAULT_CHANCE_MARGIN = 0.25
#: Warn of a first test this many epochs away or more.
SLOW_FIRST_TEST_EPOCHS = 10
#: Warn of a loss near chance again after this many epochs.
CHANCE_WARNING_EPOCHS = 10


@HOOKS.register_module()
class TerminationHook(Hook):
    """Terminates the nodes whose recovered ``z`` stopped moving.

    See docs/en/method/onestage.md (the rule and why it has this form).

    After each recovery, a node of either cell type terminates when
    ``||z_new - z_prev||_2 <= eps * S / S_ref`` and its ``z`` has at least
    ``sparsity`` non-zeros (a degenerate ``z``, e.g. all zero because
    ``lam`` is too large, does not move, but has not converged; see
    :class:`ArchitectureRecoveryHook`). ``S`` is ``b``'s *spread* since the
    previous recovery, ``sqrt(sum(lr ** 2))`` over the steps of its Adam
    optimizer: how far ``b`` wanders when only noise is left, which is what
    a converged node's ``z`` does (see
    :mod:`mmista.engine.architecture_travel`). ``S_ref`` is that of
    ``reference_epoch``, the reference code's CIFAR-10 epoch (521 steps at
    lr 3e-4): there ``S = S_ref`` and the test is the reference's
    ``||z_new - z_prev|| <= 1e-3``; with other data sizes, batch sizes,
    learning rates and numbers of processes it asks ``z`` to move no more
    than noise would in the reference. A terminated node's ``b`` stops
    training (no Adam step, no weight decay), its support and weights stay
    fixed (later recoveries skip it), and :class:`EdgeBNFreezeHook` lets
    the BatchNorms of its edges train. The epoch of termination is kept in
    the architecture state (checkpointed).

    The ``termination`` stage of
    :class:`~mmista.engine.runner.OneStageSearchLoop`: runs when an epoch
    starts, after the recovery.

    No node terminates (the test is *held*)

    - before ``b``'s travel ``sum(lr)`` since the start reaches one
      reference epoch's (0.1563): until then ``b``, and with it the support
      weights that scale every edge's output, cannot have grown as far as
      they had at the reference's first test (after its first epoch);
    - while the last epoch's mean training loss is within
      ``chance_margin * ln K`` of chance (``ln K`` for ``K`` classes): a
      network that has not learned gives ``b`` noise, and a ``z`` that sits
      still then means nothing (the reference has no such guard;
      ``configs/ista/onestage_cifar10.py`` turns it off);
    - before ``min_search_epochs`` epochs and ``min_search_iters``
      iterations (per process) have trained.

    The log warns when the run cannot learn: when ``b`` moves so little per
    epoch that the first test is far away (its support weights, which
    scale every edge's output, then stay near their initial ~1e-3), and
    when the training loss stays near chance after ``b`` has travelled two
    reference epochs; each warning says what to change.

    Args:
        eps (float): Threshold on the change of ``z`` for a recovery after
            one reference epoch of travel. Defaults to 1e-3.
        reference_epoch (dict, optional): ``dict(iters=..., lr=...)``, the
            steps and Adam learning rate of the epoch ``eps`` is meant
            for. None tests every recovery against ``eps`` itself and drops
            the travel guard. Defaults to the reference code's CIFAR-10
            epoch, ``dict(iters=521, lr=3e-4)``.
        scale_arch_lr (bool): Before training, set ``b``'s learning rate
            to ``reference lr * reference iters / iterations per epoch``, so
            that every epoch is one reference epoch of travel, whatever the
            size of the data or the number of processes. Defaults to False
            (the configured learning rate).
        chance_margin (float): The fraction of ``ln K`` the mean training
            loss must have fallen below chance before a node may terminate;
            0 turns this guard off. Defaults to 0.25.
        max_search_epochs (int, optional): Terminate every node still
            searching once this many epochs have trained, with a warning.
            Defaults to None (no cap).
        min_search_epochs (int): No node terminates by the condition
            before this many epochs have trained (the cap still applies).
            Defaults to 0.
        min_search_iters (int): No node terminates by the condition
            before this many training iterations (per process) have run.
            Defaults to 0.

    Raises:
        ConfigError: An argument is out of range or of the wrong type.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self,
                 eps: float = 1e-3,
                 reference_epoch: Optional[dict] = copy.deepcopy(
                     REFERENCE_EPOCH),
                 scale_arch_lr: bool = False,
                 chance_margin: float = DEFAULT_CHANCE_MARGIN,
                 max_search_epochs: Optional[int] = None,
                 min_search_epochs: int = 0,
                 min_search_iters: int = 0):
        if isinstance(eps, bool) or not isinstance(
                eps, numbers.Real) or not eps > 0:
            raise ConfigError(
                f'{STAGES_KEY}.eps must be a positive number (the threshold '
                f'on the change of z), got {type(eps).__name__} {eps!r}')
        if (isinstance(chance_margin, bool)
                or not isinstance(chance_margin, numbers.Real)
                or not 0 <= chance_margin < 1):
            raise ConfigError(
                f'{STAGES_KEY}.chance_margin must be a number in [0, 1) '
                f'(0: no guard), got {chance_margin!r}')
        if not isinstance(scale_arch_lr, bool):
            raise ConfigError(f'{STAGES_KEY}.scale_arch_lr must be True or '
                              f'False, got {scale_arch_lr!r}')
        self.reference_epoch = check_reference_epoch(
            reference_epoch, f'{STAGES_KEY}.reference_epoch')
        if scale_arch_lr and self.reference_epoch is None:
            raise ConfigError(
                f'{STAGES_KEY}.scale_arch_lr=True needs a reference_epoch '
                '(the learning rate follows from it)')
        if max_search_epochs is not None:
            max_search_epochs = checked_int(
                max_search_epochs, f'{STAGES_KEY}.max_search_epochs',
                what='the cap on the search epochs; None for no cap')
        self.eps = float(eps)
        self.scale_arch_lr = scale_arch_lr
        self.chance_margin = float(chance_margin)
        self.max_search_epochs = max_search_epochs
        self.min_search_epochs = checked_int(
            min_search_epochs, f'{STAGES_KEY}.min_search_epochs', minimum=0)
        self.min_search_iters = checked_int(
            min_search_iters, f'{STAGES_KEY}.min_search_iters', minimum=0)
        self._loss_sum = 0.
        self._loss_count = 0
        self._chance_warned: Optional[int] = None

    # ------------------------------------------------------------------
    # before training: the learning rate of b and how soon the first test
    def before_train(self, runner) -> None:
        """Sets ``b``'s learning rate (``scale_arch_lr``), records ``eps``
        and says when the test may start and how far apart the tests are."""
        state = SearchState(runner, type(self).__name__)
        state.set_termination_eps(self.eps)
        hub = runner.message_hub
        if hub.get_info(INITIAL_SUPPORT_WEIGHT) is None:
            hub.update_info(INITIAL_SUPPORT_WEIGHT,
                            self._mean_support_weight(state))
        iters_per_epoch = len(runner.train_dataloader)
        if self.reference_epoch is not None and not state.is_fixed:
            if self.scale_arch_lr:
                lr = (self.reference_epoch['lr'] *
                      self.reference_epoch['iters'] / iters_per_epoch)
                set_architecture_lr(runner, lr)
                runner.logger.info(
                    f"b's Adam learning rate set to {lr:.4g} = "
                    f"{self.reference_epoch['lr']:g} x "
                    f"{self.reference_epoch['iters']} / {iters_per_epoch} "
                    'iterations per epoch (termination.scale_arch_lr): every '
                    'epoch moves b as far as one reference epoch')
            self._report_pace(runner, iters_per_epoch)
        guards = [
            f'{name}={value}'
            for name, value in (('min_search_epochs', self.min_search_epochs),
                                ('min_search_iters', self.min_search_iters))
            if value > 0
        ]
        if guards:
            runner.logger.info(
                f'No node terminates before {" and ".join(guards)} have '
                'passed; z shifts are logged from the start')

    def _report_pace(self, runner, iters_per_epoch: int) -> None:
        """Logs the clock of the test; warns when the first test is far."""
        lr = architecture_lr(runner)
        per_epoch = lr * iters_per_epoch
        if not per_epoch > 0:
            runner.logger.warning(
                f"b's Adam learning rate is {lr:g}: b does not move, no "
                'node passes the termination test, and the cap '
                f'({STAGES_KEY}.max_search_epochs) ends the search. Set '
                'optim_wrapper.architecture.optimizer.lr or '
                f'{STAGES_KEY}.scale_arch_lr=True')
            return
        ref = reference_travel(self.reference_epoch)
        spread = spread_of([[lr, iters_per_epoch]])
        first_test = math.ceil(ref / per_epoch * (1 - 1e-12))
        runner.logger.info(
            f'Termination clock: {iters_per_epoch} iterations per epoch at '
            f"b's Adam lr {lr:.4g} move b by at most {per_epoch:.4g} per "
            f"epoch (the reference's CIFAR-10 epoch: {ref:.4g}); the first "
            f'test comes after epoch {first_test}, and a recovery after one '
            f'epoch terminates a node at ||z_new - z_prev|| <= '
            f'{self.eps * spread / reference_spread(self.reference_epoch):.3g}'
            f' (eps={self.eps:g} scaled by the spread of b, {spread:.4g} '
            f'against {reference_spread(self.reference_epoch):.4g})')
        cap = self.max_search_epochs
        if first_test < SLOW_FIRST_TEST_EPOCHS and (cap is None
                                                    or first_test <= cap):
            return
        scaled = (self.reference_epoch['lr'] *
                  self.reference_epoch['iters'] / iters_per_epoch)
        when = (f'after the cap of {cap} search epochs' if cap is not None
                and first_test > cap else f'only after epoch {first_test}')
        runner.logger.warning(
            f"b's Adam learning rate {lr:.4g} over {iters_per_epoch} "
            f'iterations per epoch moves b by at most {per_epoch:.3g} per '
            f'epoch, {per_epoch / ref:.2g} of a reference epoch ({ref:.4g}): '
            f'the first termination test comes {when}, and until b has grown '
            'the support weights (initially about 1e-3), which scale every '
            "edge's output, keep the network near chance. Set "
            f'{STAGES_KEY}.scale_arch_lr=True (lr {scaled:.3g} here) '
            'or raise optim_wrapper.architecture.optimizer.lr')

    # ------------------------------------------------------------------
    # while training: b's travel and the training loss
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Counts ``b``'s step and the batch's training loss."""
        state = SearchState(runner, type(self).__name__)
        if state.is_fixed:
            return
        if self.reference_epoch is not None:
            ArchitectureTravel(runner).record_step(architecture_lr(runner))
        if 'train/loss' in runner.message_hub.log_scalars:
            self._loss_sum += float(
                runner.message_hub.get_scalar('train/loss').current())
            self._loss_count += 1

    def after_train_epoch(self, runner) -> None:
        """Records the epoch's mean training loss over all processes."""
        if not self._loss_count:
            return
        total = torch.tensor([self._loss_sum, float(self._loss_count)],
                             dtype=torch.float64)
        all_reduce(total)
        self._loss_sum, self._loss_count = 0., 0
        mean = float(total[0] / total[1])
        hub = runner.message_hub
        hub.update_info(EPOCH_LOSS, mean)
        num_classes = num_classes_of(runner)
        at_chance = num_classes is not None and near_chance_loss(
            mean, num_classes, self.chance_margin or DEFAULT_CHANCE_MARGIN)
        hub.update_info(CHANCE_EPOCHS,
                        (hub.get_info(CHANCE_EPOCHS) or 0) + 1
                        if at_chance else 0)

    # ------------------------------------------------------------------
    # when an epoch starts: the test
    def _threshold(self, travel: ArchitectureTravel) -> float:
        """The threshold for the latest recovery."""
        if self.reference_epoch is None:
            return self.eps
        ratio = travel.spread_since_recovery() / reference_spread(
            self.reference_epoch)
        return self.eps * ratio

    def _converged(self, state: SearchState,
                   threshold: float) -> List[Tuple[str, int, float]]:
        """The searching nodes whose z shift is at most ``threshold``.

        Args:
            state (SearchState): The search state.
            threshold (float): The threshold of this recovery.

        Returns:
            list[tuple[str, int, float]]: ``(cell, node, shift)`` of each.
        """
        shifts = {
            cell: state.architecture.z_shifts(cell)
            for cell in CELL_TYPES
        }
        # a z with too few non-zeros stands still without converging
        degenerate = set(state.degenerate_nodes())
        return [(cell, node, shifts[cell][node])
                for cell, node in state.searching_nodes()
                if shifts[cell][node] <= threshold
                and (cell, node) not in degenerate]

    def _held(self, runner, travel: ArchitectureTravel) -> Optional[str]:
        """Why the test is held back now, or None."""
        if (runner.epoch < self.min_search_epochs
                or runner.iter < self.min_search_iters):
            return (f'min_search_epochs={self.min_search_epochs} and '
                    f'min_search_iters={self.min_search_iters}')
        if self.reference_epoch is not None:
            ref = reference_travel(self.reference_epoch)
            if travel.total() < ref * (1 - 1e-12):
                return (f'b has moved at most {travel.total():.3g} so far, '
                        f'less than one reference epoch ({ref:.4g})')
        return self._chance_loss_reason(runner)

    def _chance_loss_reason(self, runner) -> Optional[str]:
        """The loss guard's reason, when the loss is near chance."""
        num_classes = num_classes_of(runner)
        loss = runner.message_hub.get_info(EPOCH_LOSS)
        if not self.chance_margin or num_classes is None or loss is None:
            return None
        if not near_chance_loss(loss, num_classes, self.chance_margin):
            return None
        chance = chance_loss(num_classes)
        return (f'the training loss {loss:.4g} is near chance (ln '
                f'{num_classes} = {chance:.4g}; the test starts below '
                f'{(1 - self.chance_margin) * chance:.4g})')

    def before_train_epoch(self, runner) -> None:
        """Applies the condition to the latest recovery."""
        epoch = runner.epoch
        state = SearchState(runner, type(self).__name__)
        if epoch == 0 or state.all_terminated:
            return
        travel = ArchitectureTravel(runner)
        history = state.z_shift_history()
        recovered_now = bool(history) and history[-1]['epoch'] == epoch
        threshold = self._threshold(travel)
        state.set_termination_eps(threshold)
        held = self._held(runner, travel)
        # the guards hold the convergence test back, not the cap
        converged = [] if held else self._converged(state, threshold)
        if recovered_now:
            travel.start_interval()
        if held:
            runner.logger.info(
                f'Termination test held after epoch {epoch}: {held}')
        if converged:
            state.terminate([(cell, node) for cell, node, _ in converged],
                            epoch)
        loss = runner.message_hub.get_info(EPOCH_LOSS)
        loss = 'not logged' if loss is None else f'{loss:.4g}'
        for cell, node, shift in converged:
            runner.logger.info(
                f'Node {cell}/{node} terminated after epoch {epoch} '
                f'(iteration {runner.iter}, training loss {loss}): '
                f'||z_new - z_prev|| = {shift:.3g} <= {threshold:.3g}')
        self._warn_at_chance(runner, state, travel)

        remaining = state.searching_nodes()
        if (self.max_search_epochs is not None
                and epoch >= self.max_search_epochs and remaining):
            state.terminate(remaining, epoch)
            still = self._chance_loss_reason(runner)
            runner.logger.warning(
                f'The search reached max_search_epochs={epoch} before '
                f'nodes {remaining} met ||z_new - z_prev|| <= '
                f'{threshold:.3g}; they are terminated with their current '
                'supports' + (f', although {still}' if still else ''))
        if converged or state.all_terminated:
            runner.logger.info(
                f'{len(state.searching_nodes())} node(s) still searching')

    # ------------------------------------------------------------------
    # a run that cannot learn
    @staticmethod
    def _mean_support_weight(state: SearchState) -> float:
        architecture = state.architecture
        return float(
            torch.cat([
                architecture.weights(cell).detach().abs().flatten()
                for cell in CELL_TYPES
            ]).mean())

    def _warn_at_chance(self, runner, state: SearchState,
                        travel: ArchitectureTravel) -> None:
        """Warns when the loss stays near chance after ``b`` could have
        moved two reference epochs."""
        epochs = runner.message_hub.get_info(CHANCE_EPOCHS) or 0
        num_classes = num_classes_of(runner)
        if not epochs or num_classes is None:
            return
        if self.reference_epoch is not None and travel.total() < 2 * (
                reference_travel(self.reference_epoch)):
            return
        last = self._chance_warned
        if last is not None and runner.epoch - last < CHANCE_WARNING_EPOCHS:
            return
        self._chance_warned = runner.epoch
        loss = runner.message_hub.get_info(EPOCH_LOSS)
        weight = self._mean_support_weight(state)
        initial = runner.message_hub.get_info(INITIAL_SUPPORT_WEIGHT)
        grown = (weight / initial) if initial else math.inf
        if grown < 10:
            what = (f"the support weights, which scale every edge's output, "
                    f'have hardly grown (mean |w| {weight:.3g}, '
                    f'{grown:.2g}x the initial {initial:.3g}): raise '
                    "b's learning rate (optim_wrapper.architecture."
                    f'optimizer.lr, or {STAGES_KEY}.scale_arch_lr=True)')
        else:
            what = (f'the support weights have grown (mean |w| '
                    f'{weight:.3g}, {grown:.2g}x the initial): check the '
                    'labels, the data and the weights\' learning rate '
                    '(optim_wrapper.weights.optimizer.lr)')
        runner.logger.warning(
            f'The training loss has been near chance for {epochs} epoch(s) '
            f'(mean {loss:.4g}, ln {num_classes} = '
            f'{chance_loss(num_classes):.4g}) up to epoch {runner.epoch}: '
            f'the network is not learning; {what}')
