# Copyright (c) mmista contributors. All rights reserved.
"""BatchNorms of the cell edges: frozen while their node searches."""
from mmengine.hooks import Hook

from mmista.registry import HOOKS
from ..utils import backbone_with


@HOOKS.register_module()
class EdgeBNFreezeHook(Hook):
    """Freezes the edge BatchNorms of searching nodes at gamma=1, beta=0.

    During one-stage search every op on a cell edge ends in a BatchNorm
    whose affine parameters are fixed at ``gamma = 1, beta = 0``, so the
    support weight alone scales each op (docs/en/method/onestage.md). As
    the reference code does, every BatchNorm inside an edge op is frozen,
    not only the last one. When a node terminates, the BatchNorms of its
    edges start training. The state follows the termination flags
    (checkpointed), so a resumed run freezes the same layers. SyncBatchNorm
    layers (``sync_bn='torch'``) are handled alike.

    The ``bn_freeze`` stage of :class:`~mmista.engine.OneStageSearchLoop`:
    runs when training and every epoch start, after the termination test.
    """

    priority = 'LOW'

    def before_train(self, runner) -> None:
        """Freezes (and resets) the BatchNorms of searching nodes."""
        self._sync(runner)

    def before_train_epoch(self, runner) -> None:
        """Releases the BatchNorms of nodes that terminated."""
        self._sync(runner)

    def _sync(self, runner) -> None:
        backbone_with(runner, 'sync_edge_batchnorms',
                      type(self).__name__).sync_edge_batchnorms()
