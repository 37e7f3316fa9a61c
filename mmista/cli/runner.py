# Copyright (c) mmista contributors. All rights reserved.
"""Building a config's runner, with build errors told in one line."""
from copy import deepcopy

from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from mmista.engine.config_text import cache_config_text
from mmista.errors import ConfigError
from mmista.registry import RUNNERS
from .determinism import prepare_deterministic
from .head_widths import fit_head_to_backbone
from .mixed_precision import apply_mixed_precision


def build_runner(cfg: Config) -> Runner:
    """Builds the runner of a config (``runner_type`` if it names one).

    The head's input widths are first set to what the backbone returns
    (:func:`~mmista.cli.head_widths.fit_head_to_backbone`; each change is
    logged in one line), and the config formats its text once
    (:class:`~mmista.engine.config_text.TextCachingConfig`). With
    ``randomness.deterministic=True`` the environment is readied for
    deterministic CUDA first
    (:func:`~mmista.cli.determinism.prepare_deterministic`, logged in one
    line), and a config's ``amp`` key sets its optimizer wrappers to mixed
    precision (:func:`~mmista.cli.mixed_precision.apply_mixed_precision`,
    logged in one line). Building the model and the hooks happens here; an
    argument a component does not take (``model.backbone.chanels=4``) or a
    type no registry knows is a config problem, raised as a
    :class:`ConfigError` that names the component.

    Args:
        cfg (Config): The run's config (its head widths fitted in place).

    Returns:
        Runner: The runner.

    Raises:
        ConfigError: A component of the config cannot be built from it,
            ``randomness.deterministic`` is not True or False, or ``amp``
            asks for what the device cannot do.
    """
    deterministic = prepare_deterministic(cfg)
    changes = fit_head_to_backbone(cfg)
    mixed_precision = apply_mixed_precision(cfg)
    # The runner formats the config's text four times as it starts and
    # once per checkpoint: once is enough.
    cache_config_text(cfg)
    try:
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
    except (TypeError, KeyError) as error:
        text = error.args[0] if error.args else type(error).__name__
        raise ConfigError(
            f'the config cannot be built: {str(text).splitlines()[0]}'
        ) from error
    for change in changes:
        runner.logger.info(change)
    if deterministic is not None:
        runner.logger.info(deterministic)
    if mixed_precision is not None:
        runner.logger.info(mixed_precision)
    return runner


def dataloader_defaults(cfg: Config) -> Config:
    """Sets what ``tools/train.py`` sets in every dataloader the config
    does not: ``persistent_workers`` with workers, and mmengine's
    ``default_collate`` (batched tensors) as the collate function.

    Args:
        cfg (Config): The run's config (changed in place).

    Returns:
        Config: The same config.
    """
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        dataloader_cfg = ConfigDict(
            persistent_workers=cfg[field].get('num_workers', 0) > 0,
            collate_fn=dict(type='default_collate'))
        dataloader_cfg.update(deepcopy(cfg[field]))
        cfg[field] = dataloader_cfg
    return cfg
