# Copyright (c) mmista contributors. All rights reserved.
"""Building a config's runner, with build errors told in one line."""
from mmengine.config import Config
from mmengine.runner import Runner

from mmista.errors import ConfigError
from mmista.registry import RUNNERS
from .head_widths import fit_head_to_backbone


def build_runner(cfg: Config) -> Runner:
    """Builds the runner of a config (``runner_type`` if it names one).

    The head's input widths are first set to what the backbone returns
    (:func:`~mmista.cli.head_widths.fit_head_to_backbone`; each change is
    logged in one line). Building the model and the hooks happens here; an
    argument a component does not take (``model.backbone.chanels=4``) or a
    type no registry knows is a config problem, raised as a
    :class:`ConfigError` that names the component.

    Args:
        cfg (Config): The run's config (its head widths fitted in place).

    Returns:
        Runner: The runner.

    Raises:
        ConfigError: A component of the config cannot be built from it.
    """
    changes = fit_head_to_backbone(cfg)
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
    return runner
