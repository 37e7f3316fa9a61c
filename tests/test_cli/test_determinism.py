# Copyright (c) mmista contributors. All rights reserved.
"""``randomness.deterministic=True`` readies cuBLAS's workspace for
deterministic CUDA, without overriding the user's setting."""
import os

import pytest
from mmengine.config import Config

from mmista.cli.determinism import (CUBLAS_WORKSPACE_CONFIG,
                                    CUBLAS_WORKSPACE_VARIABLE,
                                    prepare_deterministic)
from mmista.errors import ConfigError
from ..utils import ONESTAGE_DIGITS, run_tool


def config(**randomness):
    return Config(dict(randomness=randomness))


def test_deterministic_sets_the_workspace_when_unset(monkeypatch):
    monkeypatch.delenv(CUBLAS_WORKSPACE_VARIABLE, raising=False)
    line = prepare_deterministic(config(seed=0, deterministic=True))
    assert os.environ[CUBLAS_WORKSPACE_VARIABLE] == CUBLAS_WORKSPACE_CONFIG
    assert line.endswith('CUBLAS_WORKSPACE_CONFIG=:4096:8 (set by mmista)')
    assert 'torch.use_deterministic_algorithms(True)' in line


@pytest.mark.parametrize('value', [':16:8', ':4096:2'])
def test_deterministic_keeps_the_users_workspace(monkeypatch, value):
    monkeypatch.setenv(CUBLAS_WORKSPACE_VARIABLE, value)
    line = prepare_deterministic(config(deterministic=True))
    assert os.environ[CUBLAS_WORKSPACE_VARIABLE] == value
    assert line.endswith(f'={value} (from the environment)')


@pytest.mark.parametrize('cfg', [
    Config(dict()),
    config(seed=0),
    config(seed=0, deterministic=False),
])
def test_nothing_changes_without_deterministic(monkeypatch, cfg):
    monkeypatch.delenv(CUBLAS_WORKSPACE_VARIABLE, raising=False)
    assert prepare_deterministic(cfg) is None
    assert CUBLAS_WORKSPACE_VARIABLE not in os.environ


@pytest.mark.parametrize('value', ['yes', 1, None])
def test_a_deterministic_that_is_not_a_bool_is_refused(monkeypatch, value):
    monkeypatch.delenv(CUBLAS_WORKSPACE_VARIABLE, raising=False)
    with pytest.raises(ConfigError, match='randomness.deterministic must be '
                       'True or False'):
        prepare_deterministic(config(deterministic=value))
    assert CUBLAS_WORKSPACE_VARIABLE not in os.environ


def test_train_refuses_it_in_one_line(tmp_path):
    config_file = tmp_path / 'deterministic_yes.py'
    config_file.write_text(f'_base_ = [{ONESTAGE_DIGITS!r}]\n'
                           "randomness = dict(seed=0, deterministic='yes')\n")
    proc = run_tool('tools/train.py', str(config_file), '--work-dir',
                    str(tmp_path / 'work'), check=False)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: randomness.deterministic must be True or False, got str "
        "'yes'")
