# Copyright (c) mmista contributors. All rights reserved.
"""Measuring a search's latency table where it runs
(``tools/train.py --measure-latency-table``).

A config may read its latency table from a file built on another device
(the shipped configs read tables built on the CPU the docs were measured
on). The switch makes every latency budget of the config measure its table
on this machine when the search starts instead, with the runtime, device,
threads, batch and timing counts of the table it names, so the budget's
milliseconds are those of the machine the search runs on.
"""
from typing import Iterator, List, Tuple

from mmengine.config import Config

from mmista.architecture import LatencyTable, LatencyTableError
from mmista.engine.config_paths import first_file, paths_beside_config
from mmista.errors import ConfigError

#: The recovery hook, whose ``budget`` a two-stage config sets.
RECOVERY_HOOK = 'ArchitectureRecoveryHook'
#: The settings a table measured at the start of a search takes when the
#: table the config names does not record them (the defaults of
#: ``tools/analysis_tools/latency_table.py``).
DEFAULT_TIMING = dict(warmup=5, repeats=20)


def config_budgets(cfg: Config) -> Iterator[Tuple[str, dict]]:
    """The resource budgets of a config, with their keys.

    One-stage configs set ``train_cfg.stages.recovery.budget``; two-stage
    configs give it to the ``ArchitectureRecoveryHook`` in
    ``custom_hooks``.

    Args:
        cfg (Config): The run's config.

    Yields:
        tuple[str, dict]: The budget's key and the budget (changed in
        place by the caller).
    """
    stages = (cfg.get('train_cfg') or {}).get('stages') or {}
    budget = (stages.get('recovery') or {}).get('budget')
    if isinstance(budget, dict):
        yield 'train_cfg.stages.recovery.budget', budget
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        kind = str(hook.get('type', '')).split('.')[-1]
        if kind == RECOVERY_HOOK and isinstance(hook.get('budget'), dict):
            yield f'custom_hooks[{i}].budget', hook['budget']


def measure_latency_here(cfg: Config) -> List[str]:
    """Makes every latency budget of the config measure its table on this
    machine when the search starts.

    A budget that names a table file gets the settings recorded in it
    (runtime, device, threads, batch, warmup, repeats) instead; one that
    already measures its table is left as it is.

    Args:
        cfg (Config): The run's config, changed in place.

    Returns:
        list[str]: One line per latency budget, saying what it measures.

    Raises:
        ConfigError: The config has no latency budget, or the table it
            names cannot be read (the message says why).
    """
    lines = []
    for key, budget in config_budgets(cfg):
        spec = budget.get('latency_table')
        if spec is None:
            continue
        if isinstance(spec, str):
            settings = _recorded_settings(cfg, f'{key}.latency_table', spec)
            budget['latency_table'] = settings
            origin = f'instead of reading {spec}'
        else:
            settings = dict(spec)
            origin = 'as the config says'
        shown = ', '.join(f'{k}={v!r}' for k, v in settings.items())
        lines.append(f'{key}.latency_table: measured on this machine when '
                     f'the search starts ({shown}), {origin}')
    if not lines:
        raise ConfigError(
            '--measure-latency-table: this config has no latency budget '
            '(no budget with latency_table in train_cfg.stages.recovery or '
            f'in the {RECOVERY_HOOK} of custom_hooks); set budget.latency_ms '
            'and budget.latency_table (docs/en/user_guides/'
            'latency_budget.md)')
    return lines


def _recorded_settings(cfg: Config, key: str, path: str) -> dict:
    """The measuring settings recorded in the table file ``path``."""
    candidates = paths_beside_config(getattr(cfg, 'filename', None), path)
    found = first_file(candidates)
    if found is None:
        raise ConfigError(
            f'--measure-latency-table: {key} = {path!r} is not a file (nor '
            f'{candidates[-1]!r}), so its settings are unknown; give '
            f"{key}=dict(runtime='onnxruntime', threads=1) instead")
    try:
        table = LatencyTable.load(found)
    except LatencyTableError as error:
        raise ConfigError(f'--measure-latency-table: {error}') from None
    device = table.device
    settings = dict(
        runtime=device.runtime,
        device=device.device,
        threads=int(device.threads),
        batch=int(device.batch))
    for name, default in DEFAULT_TIMING.items():
        settings[name] = int(table.notes.get(name, default))
    return settings
