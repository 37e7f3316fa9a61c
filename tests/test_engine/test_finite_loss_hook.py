# Copyright (c) mmista contributors. All rights reserved.
"""No checkpoint holding NaN or infinity is written, and no NaN score is
evaluated."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmpretrain.structures import DataSample

from mmista.engine.hooks import FiniteLossHook
from mmista.finite import NonFiniteError

RUNNER = SimpleNamespace(epoch=2, iter=30)


def checkpoint(**values):
    state = {'backbone.conv.weight': torch.ones(2, 2)}
    state.update(values)
    return dict(state_dict=state,
                optimizer=dict(state={0: dict(
                    momentum_buffer=torch.zeros(2, 2))}, param_groups=[]))


def test_a_non_finite_checkpoint_is_refused_with_the_tensors_named():
    bad = checkpoint(**{'head.fc.bias': torch.tensor([0., math.nan])})
    bad['optimizer']['state'][0]['momentum_buffer'][0, 0] = math.inf
    with pytest.raises(NonFiniteError) as error:
        FiniteLossHook().before_save_checkpoint(RUNNER, bad)
    assert str(error.value) == (
        'refusing to write the checkpoint of epoch 3 (iteration 31): 2 '
        'tensor(s) are not finite: state_dict.head.fc.bias (nan), '
        'optimizer.state.0.momentum_buffer (inf)')


def test_infinity_that_means_no_previous_z_is_allowed_nan_is_not():
    key = 'backbone.architecture.normal_z_shift'
    FiniteLossHook().before_save_checkpoint(
        RUNNER, checkpoint(**{key: torch.full((4, ), math.inf)}))
    with pytest.raises(NonFiniteError, match=f'{key} \\(nan\\)'):
        FiniteLossHook().before_save_checkpoint(
            RUNNER, checkpoint(**{key: torch.full((4, ), math.nan)}))


def test_non_finite_scores_stop_the_evaluation():
    hook = FiniteLossHook()
    good = [DataSample().set_pred_score(torch.tensor([0.2, 0.8]))] * 3
    hook.after_test_iter(RUNNER, 0, outputs=good)
    bad = good + [DataSample().set_pred_score(torch.tensor([math.nan, 1.]))]
    with pytest.raises(NonFiniteError,
                       match='not finite for 1 of 4 images of validation '
                       'batch 5'):
        hook.after_val_iter(RUNNER, 4, outputs=bad)


def test_the_fused_check_names_what_the_per_tensor_check_names():
    """Thousands of tensors are checked in a few fused reductions; the
    result is the one the per-tensor test gives: huge finite values pass,
    each NaN or infinity is named, allowed infinity is not."""
    from mmista.finite import non_finite_tensors
    tensors = {f'w{i}': torch.full((3, ), 1e38) for i in range(200)}
    tensors['half'] = torch.ones(4, dtype=torch.float16) * 6e4
    tensors['count'] = torch.tensor(5)
    tensors['backbone.architecture.normal_z_shift'] = torch.full(
        (4, ), math.inf)
    assert non_finite_tensors(tensors) == []
    tensors['w7'] = torch.tensor([0., math.inf, 0.])
    tensors['half'] = torch.tensor([math.nan], dtype=torch.float16)
    tensors['backbone.architecture.normal_z_shift'][1] = math.nan
    assert non_finite_tensors(tensors) == [
        'w7 (inf)', 'half (nan)',
        'backbone.architecture.normal_z_shift (nan)'
    ]
