# Copyright (c) mmista contributors. All rights reserved.
"""The config text that every checkpoint records is formatted once per
distinct config, and is exactly mmengine's."""
import mmengine.config.config as mmengine_config
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmista.cli import build_runner
from mmista.engine.config_text import TextCachingConfig, cache_config_text
from ..utils import DIGITS_EVAL_CONFIG, ONESTAGE_DIGITS, tiny_config


def counting_formats(monkeypatch):
    """Counts mmengine's yapf calls (the formatting itself is unchanged)."""
    calls = []
    format_code = mmengine_config.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return format_code(*args, **kwargs)

    monkeypatch.setattr(mmengine_config, 'FormatCode', counted)
    return calls


@pytest.mark.parametrize('path', [ONESTAGE_DIGITS, DIGITS_EVAL_CONFIG])
def test_same_text_as_mmengine_formatted_once(path, monkeypatch):
    plain = Config.fromfile(path)
    cfg = Config.fromfile(path)
    assert cache_config_text(cfg) is cfg
    assert type(cfg) is TextCachingConfig
    calls = counting_formats(monkeypatch)
    assert cfg.pretty_text == plain.pretty_text
    assert len(calls) == 2  # once each
    assert cfg.pretty_text == cfg.pretty_text == plain.pretty_text
    assert len(calls) == 3
    # A change made during the run is in the next text.
    cfg.train_cfg.max_epochs = 7
    plain.train_cfg.max_epochs = 7
    assert cfg.pretty_text == plain.pretty_text
    assert 'max_epochs=7' in cfg.pretty_text
    assert len(calls) == 5


def test_checkpoints_record_mmengine_text(tmp_path, monkeypatch):
    """A run built as tools/train.py builds it formats its config once,
    and every checkpoint records mmengine's text."""
    calls = counting_formats(monkeypatch)
    runner = build_runner(tiny_config(tmp_path, validate=False))
    runner.train()  # one checkpoint per epoch
    assert type(runner.cfg) is TextCachingConfig
    assert runner.max_epochs >= 2
    assert len(calls) == 1  # not four at the start and one per checkpoint
    expected = Config.pretty_text.fget(runner.cfg)  # mmengine's formatting
    for epoch in range(1, runner.max_epochs + 1):
        checkpoint = torch.load(
            tmp_path / f'epoch_{epoch}.pth', weights_only=False)
        assert checkpoint['meta']['cfg'] == expected


def test_runner_built_elsewhere_formats_once_in_training(
        tmp_path, monkeypatch):
    runner = Runner.from_cfg(tiny_config(tmp_path, validate=False))
    calls = counting_formats(monkeypatch)
    runner.train()
    assert type(runner.cfg) is TextCachingConfig  # the checkpoint hook's
    # mmengine's RuntimeInfoHook reads it before the checkpoint hook, then
    # all checkpoints share one formatting
    assert len(calls) == 2
