# Copyright (c) mmista contributors. All rights reserved.
"""DistributedDataParallel for search models."""
from typing import Dict, Union

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict

from mmista.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class SearchDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that runs the model's search step.

    mmengine's DDP wrapper implements ``train_step`` itself (one optimizer,
    one backward), bypassing the wrapped model's. This one hands the step
    to :meth:`SearchClassifier.search_step` with DDP's forward, so that the
    two-stage and one-stage steps keep their semantics and DDP averages
    the gradients. Build it with ``find_unused_parameters=True``: the ops
    outside the supports get no gradient.
    """

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict
                   ) -> Dict[str, torch.Tensor]:
        """One search iteration under DDP.

        Args:
            data (dict | tuple | list): See
                :meth:`SearchClassifier.train_step`.
            optim_wrapper (OptimWrapperDict): ``weights`` and
                ``architecture`` wrappers.

        Returns:
            dict[str, Tensor]: Logged variables.
        """
        return self.module.search_step(
            data, optim_wrapper, self._run_forward, ddp=self)
