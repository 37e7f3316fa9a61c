# Copyright (c) mmista contributors. All rights reserved.
"""The collective timeout of distributed runs (``env_cfg.dist_cfg.timeout``)
and the one-line messages for a rank that timed out or lost another."""
import datetime
import multiprocessing
import sys

import pytest
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import init_dist

from mmista.cli import (collective_failure_message, collective_timeout,
                        load_config, reported_errors)
from mmista.errors import ConfigError
from ..utils import REPO_ROOT

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
# gloo's own words (torch 2.14), as its collectives raise them.
GLOO_TIMEOUT = ('[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/'
                'unbound_buffer.cc:78] Timed out waiting 20000ms for recv '
                'operation to complete')
GLOO_CLOSED = 'Application timeout caused pair closure'
GLOO_RESET = ('[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/'
              'pair.cc:545] Read error [127.0.0.1]:34002: Connection reset '
              'by peer. This is typically caused by a remote worker hanging')


def with_timeout(value):
    return Config(dict(env_cfg=dict(dist_cfg=dict(timeout=value))))


def test_default_timeout_is_seconds_that_both_paths_take():
    """The configs' default is a number of seconds: what gloo gets here
    (a timedelta) and what mmengine's init_dist (the GPU path) takes."""
    cfg = Config.fromfile(ONESTAGE_DIGITS)
    seconds = cfg.env_cfg.dist_cfg.timeout
    assert seconds == 300
    assert collective_timeout(cfg) == datetime.timedelta(seconds=300)
    # init_dist converts the number before it looks at the launcher; a
    # timedelta would be refused there with a TypeError.
    multiprocessing.get_start_method()  # fix the default: init_dist
    # would otherwise choose 'spawn' for this process
    with pytest.raises(ValueError, match='Invalid launcher type'):
        init_dist('no-launcher', backend='gloo', timeout=seconds)
    with pytest.raises(TypeError, match='timeout in seconds'):
        init_dist('no-launcher', backend='gloo',
                  timeout=datetime.timedelta(seconds=seconds))


def test_no_timeout_leaves_torch_default():
    assert collective_timeout(Config(dict(env_cfg=dict()))) is None
    assert collective_timeout(Config(dict())) is None
    assert collective_timeout(with_timeout(2.5)) == datetime.timedelta(
        seconds=2.5)


@pytest.mark.parametrize(
    'value', ['300', 0, -5, True, float('inf'),
              datetime.timedelta(seconds=300)])
def test_timeout_that_is_not_seconds_is_a_config_error(value):
    with pytest.raises(ConfigError, match=r'env_cfg\.dist_cfg\.timeout='):
        collective_timeout(with_timeout(value))


@pytest.fixture
def process_group(tmp_path):
    """A one-process gloo group (the messages need a rank)."""
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0,
        world_size=1, timeout=datetime.timedelta(seconds=20))
    yield
    dist.destroy_process_group()


def test_gloo_timeout_and_lost_rank_get_one_line(process_group):
    """The operation that timed out and any other one of the rank (gloo
    then closes its pairs) name the key and the group's timeout."""
    for text in (GLOO_TIMEOUT, GLOO_CLOSED):
        message = collective_failure_message(RuntimeError(text))
        assert message.startswith('rank 0 of 1 waited longer than '
                                  'env_cfg.dist_cfg.timeout (20 s)')
        assert 'probably stopped or died' in message
        assert '--resume' in message
    message = collective_failure_message(
        dist.DistStoreError('wait timeout after 20000ms, keys: /x'))
    assert message.startswith('rank 0 of 1 waited longer than')
    message = collective_failure_message(RuntimeError(GLOO_RESET))
    assert message.startswith('rank 0 of 1 lost its connection to another '
                              'rank, which probably died')
    assert '\n' not in message
    with pytest.raises(SystemExit, match='^error: rank 0 of 1 waited'):
        with reported_errors():
            raise RuntimeError(GLOO_TIMEOUT)


def test_other_errors_keep_their_traceback(process_group):
    """Only gloo's (or torch.distributed's) errors are translated: a
    DataLoader's timeout is another matter."""
    for error in (RuntimeError('DataLoader timed out after 5 seconds'),
                  ValueError(GLOO_TIMEOUT)):
        assert collective_failure_message(error) is None
        with pytest.raises(type(error)):
            with reported_errors():
                raise error


def test_no_process_group_no_translation():
    assert not dist.is_initialized()
    assert collective_failure_message(RuntimeError(GLOO_TIMEOUT)) is None


def test_custom_imports_from_cfg_options_are_imported(tmp_path, monkeypatch):
    """mmengine imports a config's custom_imports when it reads the file;
    load_config imports those an override sets (a fault-injection hook in
    the distributed tests comes this way)."""
    (tmp_path / 'extra_hooks_for_test.py').write_text('LOADED = True\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = load_config(
        ONESTAGE_DIGITS,
        {'custom_imports.imports': ['mmista', 'extra_hooks_for_test']})
    assert cfg.custom_imports.imports == ['mmista', 'extra_hooks_for_test']
    assert sys.modules.pop('extra_hooks_for_test').LOADED
    with pytest.raises(SystemExit, match='custom_imports: .*no_such_module'):
        load_config(ONESTAGE_DIGITS,
                    {'custom_imports.imports': ['no_such_module']})
