# Copyright (c) mmista contributors. All rights reserved.
"""The one-stage termination condition, node by node."""
import numbers
from typing import List, Optional, Tuple

from mmengine.hooks import Hook

from mmista.errors import ConfigError, checked_int
from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES
from ..search_state import SearchState

#: Where a one-stage config sets this hook's arguments.
STAGES_KEY = 'train_cfg.stages.termination'


@HOOKS.register_module()
class TerminationHook(Hook):
    """Terminates the nodes whose recovered ``z`` stopped moving.

    See docs/en/method/onestage.md.

    After each recovery, a node of either cell type terminates when
    ``||z_new - z_prev||_2 <= eps`` and its ``z`` has at least ``sparsity``
    non-zeros (a degenerate ``z``, e.g. all zero because ``lam`` is too
    large, does not move, but has not converged; see
    :class:`ArchitectureRecoveryHook`): its ``b`` stops training (no Adam
    step, no weight decay), its support and weights stay fixed (later
    recoveries skip it), and :class:`EdgeBNFreezeHook` lets the BatchNorms
    of its edges train. The epoch of termination is kept in the
    architecture state (checkpointed).

    The ``termination`` stage of
    :class:`~mmista.engine.runner.OneStageSearchLoop`: runs when an epoch
    starts, after the recovery. It records ``eps`` in the search state
    (for the convergence plot).

    Early in a search the network has not learned yet, so ``b`` gets little
    but noise and ``z`` can sit still by accident: ``min_search_epochs``
    and ``min_search_iters`` keep every node searching until that many
    epochs and training iterations have passed. Iterations count the
    weight updates whatever the number of processes (two processes take
    half the steps per epoch of one); the reference code and the paper
    have no such guard, and 0 for both keeps their behaviour.

    Args:
        eps (float): Threshold on the change of ``z``. Defaults to 1e-3.
        max_search_epochs (int, optional): Terminate every node still
            searching once this many epochs have trained, with a warning.
            Defaults to None (no cap).
        min_search_epochs (int): No node terminates by the condition
            before this many epochs have trained (the cap still applies:
            with a cap below it, every node terminates at the cap).
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
                 max_search_epochs: Optional[int] = None,
                 min_search_epochs: int = 0,
                 min_search_iters: int = 0):
        if isinstance(eps, bool) or not isinstance(
                eps, numbers.Real) or not eps > 0:
            raise ConfigError(
                f'{STAGES_KEY}.eps must be a positive number (the threshold '
                f'on the change of z), got {type(eps).__name__} {eps!r}')
        if max_search_epochs is not None:
            max_search_epochs = checked_int(
                max_search_epochs, f'{STAGES_KEY}.max_search_epochs',
                what='the cap on the search epochs; None for no cap')
        min_search_epochs = checked_int(
            min_search_epochs, f'{STAGES_KEY}.min_search_epochs', minimum=0)
        min_search_iters = checked_int(
            min_search_iters, f'{STAGES_KEY}.min_search_iters', minimum=0)
        self.eps = eps
        self.max_search_epochs = max_search_epochs
        self.min_search_epochs = min_search_epochs
        self.min_search_iters = min_search_iters

    def before_train(self, runner) -> None:
        """Records ``eps`` and says when termination may start, if a guard
        delays it."""
        SearchState(runner, type(self).__name__).set_termination_eps(self.eps)
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

    def _converged(self, state: SearchState) -> List[Tuple[str, int, float]]:
        """The searching nodes whose z shift is at most eps.

        Args:
            state (SearchState): The search state.

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
                if shifts[cell][node] <= self.eps
                and (cell, node) not in degenerate]

    def _guarded(self, runner) -> bool:
        """Whether the guards still keep every node searching."""
        return (runner.epoch < self.min_search_epochs
                or runner.iter < self.min_search_iters)

    def before_train_epoch(self, runner) -> None:
        """Applies the condition to the latest recovery."""
        epoch = runner.epoch
        state = SearchState(runner, type(self).__name__)
        if epoch == 0 or state.all_terminated:
            return
        # the guards hold the convergence test back, not the cap
        converged = [] if self._guarded(runner) else self._converged(state)
        if converged:
            state.terminate([(cell, node) for cell, node, _ in converged],
                            epoch)
        for cell, node, shift in converged:
            runner.logger.info(
                f'Node {cell}/{node} terminated after epoch {epoch}: '
                f'||z_new - z_prev|| = {shift:.3g} <= {self.eps:g}')

        remaining = state.searching_nodes()
        if (self.max_search_epochs is not None
                and epoch >= self.max_search_epochs and remaining):
            state.terminate(remaining, epoch)
            runner.logger.warning(
                f'The search reached max_search_epochs={epoch} before '
                f'nodes {remaining} met ||z_new - z_prev|| <= {self.eps:g}; '
                'they are terminated with their current supports')
        if converged or state.all_terminated:
            runner.logger.info(
                f'{len(state.searching_nodes())} node(s) still searching')
