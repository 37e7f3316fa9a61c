# Copyright (c) mmista contributors. All rights reserved.
"""The validation loss: mean cross-entropy of the predicted scores."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmista.registry import METRICS


@METRICS.register_module()
class CrossEntropyMetric(BaseMetric):
    """Mean negative log-likelihood of the ground-truth class.

    mmpretrain classifiers predict softmax scores (``pred_score``); the
    metric averages ``-log(pred_score[gt_label])`` over the dataset, which
    is the cross-entropy loss of the main classifier, so search and
    training logs can show a validation loss next to the accuracy.

    Args:
        eps (float): Floor of the scores before the logarithm.
            Defaults to 1e-12.
        collect_device (str): See :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Metric name prefix. Defaults to ``'loss'``.
    """

    default_prefix: Optional[str] = 'loss'

    def __init__(self,
                 eps: float = 1e-12,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.eps = eps

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Stores the negative log-likelihood of every sample."""
        for sample in data_samples:
            score = torch.as_tensor(sample['pred_score']).float()
            label = int(torch.as_tensor(sample['gt_label']).reshape(-1)[0])
            self.results.append(
                float(-score[label].clamp_min(self.eps).log()))

    def compute_metrics(self, results: List[float]) -> Dict[str, float]:
        """Averages the stored values.

        Returns:
            dict[str, float]: ``cross_entropy``.
        """
        return {'cross_entropy': sum(results) / max(len(results), 1)}
