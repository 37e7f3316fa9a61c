# Copyright (c) mmista contributors. All rights reserved.
"""Mixed precision on the CPU, with the finite checks kept."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from mmista.cli.mixed_precision import apply_mixed_precision
from mmista.engine import MixedPrecisionOptimWrapper
from mmista.errors import ConfigError
from mmista.finite import NonFiniteError
from ..utils import ONESTAGE_DIGITS

NO_CUDA = pytest.mark.skipif(
    torch.cuda.is_available(), reason='the default device here is CUDA')


def linear_wrapper(clip: bool = True, **kwargs):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    extra = dict(clip_grad=dict(max_norm=5.)) if clip else {}
    return model, MixedPrecisionOptimWrapper(
        optimizer=optimizer, **extra, **kwargs)


def test_forward_autocasts_to_bfloat16_and_state_stays_float32():
    model, wrapper = linear_wrapper()
    assert wrapper.cast_dtype == torch.bfloat16  # the CPU's default
    assert wrapper.loss_scaler is None  # bfloat16: no loss scaling
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        out = model(torch.ones(4, 3))
    assert not torch.is_autocast_enabled('cpu')
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(model.weight, before)  # it stepped
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    momenta = [s['momentum_buffer'] for s in wrapper.optimizer.state.values()]
    assert {m.dtype for m in momenta} == {torch.float32}
    assert 'loss_scaler' not in wrapper.state_dict()


@pytest.mark.parametrize('clip', [True, False])
def test_non_finite_loss_and_gradient_stop_before_a_step(clip):
    model, wrapper = linear_wrapper(clip)
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        loss = model(torch.ones(1, 3)).float().sum() * float('nan')
    with pytest.raises(NonFiniteError, match='the loss is not finite'):
        wrapper.update_params(loss)
    with torch.no_grad():
        model.bias.zero_()
    # sqrt at 0: a finite loss with an infinite gradient
    with pytest.raises(NonFiniteError, match='the gradient norm is inf'):
        wrapper.update_params(model.bias.sqrt().sum())
    assert torch.equal(model.weight, before)
    assert wrapper.optimizer.state == {}


def test_loss_scaled_step_skips_overflow_but_stops_on_a_nan_loss():
    """float16's path (a GradScaler) run on the CPU's scaler: an
    overflowing gradient skips the step and lowers the scale; a NaN loss
    still stops the run."""
    model, wrapper = linear_wrapper()
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=1024.)
    with torch.no_grad():
        model.bias.zero_()
    before = model.weight.detach().clone()
    wrapper.update_params(model.bias.sqrt().sum())  # inf gradient: skipped
    assert torch.equal(model.weight, before)
    assert wrapper.loss_scaler.get_scale() == 512.
    loss = model(torch.ones(1, 3)).sum()
    wrapper.update_params(loss)  # finite: steps, unscaled
    assert not torch.equal(model.weight, before)
    assert wrapper.state_dict()['loss_scaler']['scale'] == 512.
    with pytest.raises(NonFiniteError, match='the loss is not finite'):
        wrapper.update_params(model(torch.ones(1, 3)).sum() * float('nan'))


def test_resumes_a_checkpoint_of_another_precision():
    model, wrapper = linear_wrapper()
    wrapper.update_params(model(torch.ones(2, 3)).float().sum())
    state = wrapper.state_dict()
    state['loss_scaler'] = torch.amp.GradScaler('cpu').state_dict()
    _, other = linear_wrapper()
    other.load_state_dict(state)  # a float16 run's scaler is dropped
    assert other.optimizer.state_dict()['state'].keys() == \
        wrapper.optimizer.state_dict()['state'].keys()


@NO_CUDA
def test_float16_on_the_cpu_says_to_use_bfloat16():
    with pytest.raises(ConfigError) as error:
        linear_wrapper(dtype='float16')
    message = str(error.value)
    assert '\n' not in message
    assert message == ('float16 mixed precision needs a CUDA device: on '
                       'the CPU use bfloat16 (or leave the dtype out)')
    with pytest.raises(ConfigError, match='must be one of'):
        linear_wrapper(dtype='float32')


@NO_CUDA
def test_amp_key_sets_both_search_wrappers_and_keeps_their_settings():
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    weights = cfg.optim_wrapper.weights.to_dict()
    cfg.amp = dict(dtype=None)
    line = apply_mixed_precision(cfg)
    assert line == ('mixed precision: bfloat16 autocast on cpu (2 optimizer '
                    'wrappers)')
    for part in ('weights', 'architecture'):
        assert cfg.optim_wrapper[part].type == 'MixedPrecisionOptimWrapper'
        assert cfg.optim_wrapper[part].dtype == 'bfloat16'
    assert cfg.optim_wrapper.weights.clip_grad == weights['clip_grad']
    assert cfg.optim_wrapper.constructor == 'SearchOptimWrapperConstructor'


@NO_CUDA
@pytest.mark.parametrize('amp, message', [
    (dict(dtype='float16'), 'amp: float16 mixed precision needs a CUDA '
     'device: on the CPU use bfloat16'),
    (dict(dtype='bfloat16', scale=2), 'amp must be True, None or dict'),
    ('yes', 'amp must be True, None or dict'),
])
def test_amp_key_problems_are_config_errors(amp, message):
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    cfg.amp = amp
    with pytest.raises(ConfigError, match=message.replace('(', r'\(')):
        apply_mixed_precision(cfg)


def test_no_amp_key_changes_nothing():
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    assert apply_mixed_precision(cfg) is None
    assert cfg.optim_wrapper.weights.type == 'FiniteOptimWrapper'
