# Copyright (c) mmista contributors. All rights reserved.
import math

import pytest
import torch
from mmpretrain.structures import DataSample

from mmista.evaluation import CrossEntropyMetric


def sample(scores, label):
    return DataSample().set_pred_score(torch.tensor(scores)).set_gt_label(
        label).to_dict()


def test_mean_negative_log_likelihood():
    metric = CrossEntropyMetric()
    metric.process(None, [sample([0.5, 0.25, 0.25], 0)])
    metric.process(None, [sample([0.1, 0.8, 0.1], 2)])
    result = metric.evaluate(2)
    expected = (-math.log(0.5) - math.log(0.1)) / 2
    assert result == {'loss/cross_entropy': pytest.approx(expected)}


def test_zero_score_is_floored():
    metric = CrossEntropyMetric(eps=1e-6)
    metric.process(None, [sample([1.0, 0.0], 1)])
    assert metric.evaluate(1)['loss/cross_entropy'] == pytest.approx(
        -math.log(1e-6))


def test_matches_the_classifier_loss():
    logits = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(6) % 5
    metric = CrossEntropyMetric()
    metric.process(None, [
        sample(score.tolist(), int(label))
        for score, label in zip(logits.softmax(1), labels)
    ])
    expected = torch.nn.functional.cross_entropy(logits, labels)
    assert metric.evaluate(6)['loss/cross_entropy'] == pytest.approx(
        float(expected), rel=1e-5)
