# Copyright (c) mmista contributors. All rights reserved.
"""The one-stage termination condition, node by node."""
from typing import List, Optional, Tuple

from mmengine.hooks import Hook

from mmista.registry import HOOKS
from mmista.structures import CELL_TYPES
from ..utils import architecture_of


@HOOKS.register_module()
class TerminationHook(Hook):
    """Terminates the nodes whose recovered ``z`` stopped moving (SPEC 5).

    After each recovery, a node of either cell type terminates when
    ``||z_new - z_prev||_2 <= eps``: its ``b`` stops training (no Adam
    step, no weight decay), its support and weights stay fixed (later
    recoveries skip it), and :class:`EdgeBNFreezeHook` lets the BatchNorms
    of its edges train. The epoch of termination is kept in the
    architecture state (checkpointed).

    Runs when an epoch starts, after :class:`ArchitectureRecoveryHook`
    (which recovers there).

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
    """

    priority = 'BELOW_NORMAL'

    def __init__(self,
                 eps: float = 1e-3,
                 max_search_epochs: Optional[int] = None,
                 min_search_epochs: int = 0,
                 min_search_iters: int = 0):
        if eps <= 0:
            raise ValueError(f'eps must be positive, got {eps}')
        if max_search_epochs is not None and max_search_epochs < 1:
            raise ValueError(
                f'max_search_epochs must be >= 1, got {max_search_epochs}')
        for name, value in (('min_search_epochs', min_search_epochs),
                            ('min_search_iters', min_search_iters)):
            if value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}')
        self.eps = eps
        self.max_search_epochs = max_search_epochs
        self.min_search_epochs = min_search_epochs
        self.min_search_iters = min_search_iters

    def before_train(self, runner) -> None:
        """Says when termination may start, if a guard delays it."""
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

    def _terminate_converged(self, architecture,
                             epoch: int) -> List[Tuple[str, int, float]]:
        """Terminates the searching nodes whose z shift is at most eps.

        Args:
            architecture (CompressedArchitecture): The super-net's
                architecture state.
            epoch (int): Epochs trained.

        Returns:
            list[tuple[str, int, float]]: ``(cell, node, shift)`` of each
            node terminated.
        """
        converged = []
        for cell in CELL_TYPES:
            active = architecture.active_nodes(cell)
            for node, shift in enumerate(architecture.z_shifts(cell)):
                if active[node] and shift <= self.eps:
                    architecture.terminate(cell, node, epoch)
                    converged.append((cell, node, shift))
        return converged

    def _guarded(self, runner) -> bool:
        """Whether the guards still keep every node searching."""
        return (runner.epoch < self.min_search_epochs
                or runner.iter < self.min_search_iters)

    def before_train_epoch(self, runner) -> None:
        """Applies the condition to the latest recovery."""
        epoch = runner.epoch
        architecture = architecture_of(runner, type(self).__name__)
        if epoch == 0 or architecture.all_terminated:
            return
        # the guards hold the convergence test back, not the cap
        converged = [] if self._guarded(runner) else \
            self._terminate_converged(architecture, epoch)
        for cell, node, shift in converged:
            runner.logger.info(
                f'Node {cell}/{node} terminated after epoch {epoch}: '
                f'||z_new - z_prev|| = {shift:.3g} <= {self.eps:g}')

        if (self.max_search_epochs is not None
                and epoch >= self.max_search_epochs
                and not architecture.all_terminated):
            remaining = [(cell, node) for cell in CELL_TYPES
                         for node, active in enumerate(
                             architecture.active_nodes(cell)) if active]
            for cell, node in remaining:
                architecture.terminate(cell, node, epoch)
            runner.logger.warning(
                f'The search reached max_search_epochs={epoch} before '
                f'nodes {remaining} met ||z_new - z_prev|| <= {self.eps:g}; '
                'they are terminated with their current supports')
        if converged or architecture.all_terminated:
            architecture.broadcast()  # rank 0 decides
            active = sum(
                sum(architecture.active_nodes(cell)) for cell in CELL_TYPES)
            runner.logger.info(f'{active} node(s) still searching')
