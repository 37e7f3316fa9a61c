# Copyright (c) mmista contributors. All rights reserved.
"""The latency table a search's budget reads: a file, or measured here.

See docs/en/user_guides/latency_budget.md.
"""
import json
import os.path as osp
import time
from typing import Optional, Sequence, Union

from mmengine.dist import broadcast_object_list, get_rank, get_world_size

from mmista.architecture import LatencyTable, LatencyTableError
from mmista.errors import ConfigError
from .config_paths import config_relative_candidates, first_file

#: The settings of a table measured at the start of a search (the options
#: of ``tools/analysis_tools/latency_table.py``).
MEASURE_KEYS = ('runtime', 'device', 'threads', 'batch', 'warmup', 'repeats')
#: Where a table measured at the start of a search is saved, in the work
#: directory.
MEASURED_TABLE = 'latency_table.json'
#: The message hub's key for that table: checkpoints carry it, so a run
#: resumed anywhere decides with the table the interrupted run measured.
TABLE_INFO = 'latency_table'


def budget_latency_table(runner, model_cfg: dict,
                         spec: Union[str, dict],
                         shape: Optional[Sequence[int]], steps: int,
                         sparsity: int) -> LatencyTable:
    """Loads or measures the latency table of a budget.

    Args:
        runner (Runner): The search's runner (config, work directory,
            logger).
        model_cfg (dict): The classifier config of the derived network.
        spec (str | dict): A table file (from
            ``tools/analysis_tools/latency_table.py``; relative to the
            working directory or to the search config), or the settings
            of :data:`MEASURE_KEYS` to measure one on this machine now
            (rank 0 measures, every rank uses its table; it is saved as
            ``latency_table.json`` in the work directory and kept in the
            checkpoints, and a resumed run reads it from its checkpoint
            (or, for a checkpoint without it, from the work directory's
            file) rather than measuring again, so that its budget decides
            as the interrupted run's did).
        shape (Sequence[int], optional): Input height [and width].
        steps (int): Intermediate nodes per cell.
        sparsity (int): Edges per node.

    Returns:
        LatencyTable: The table.

    Raises:
        LatencyTableError: A missing or broken file.
        ConfigError: A spec that is neither, or unknown settings.
    """
    if isinstance(spec, str):
        return LatencyTable.load(_find(runner, spec))
    if not isinstance(spec, dict):
        raise ConfigError(
            'budget.latency_table must be a table file or a dict of '
            f'{", ".join(MEASURE_KEYS)} to measure one here, got '
            f'{type(spec).__name__}')
    unknown = sorted(set(spec) - set(MEASURE_KEYS))
    if unknown:
        raise ConfigError(
            f'unknown budget.latency_table keys {unknown}; measuring a '
            f'table takes {", ".join(MEASURE_KEYS)}')
    table = [None]
    hub = getattr(runner, 'message_hub', None)
    if get_rank() == 0:
        path = osp.join(runner.work_dir, MEASURED_TABLE)
        resumed = bool(getattr(runner, '_resume', False)
                       or runner.cfg.get('resume'))
        kept = hub.get_info(TABLE_INFO) if hub is not None else None
        if resumed and kept is not None:
            measured = LatencyTable.from_dict(
                kept, 'the latency table of the resumed checkpoint')
            runner.logger.info(
                'Latency table of the resumed run read from its checkpoint '
                f'({measured.device.describe()})')
            if not osp.isfile(path):
                measured.save(path)
        elif resumed and osp.isfile(path):
            measured = LatencyTable.load(path)
            runner.logger.info(
                f'Latency table of the resumed run read from {path} '
                f'({measured.device.describe()})')
        else:
            measured = _measure(runner, model_cfg, spec, shape, steps,
                                sparsity)
            measured.save(path)
            runner.logger.info(f'Latency table saved to {path}')
        # plain JSON data: checkpoints are read weights-only
        table = [json.loads(json.dumps(measured.to_dict()))]
    if get_world_size() > 1:
        broadcast_object_list(table, src=0)
    if hub is not None:
        hub.update_info(TABLE_INFO, table[0])
    return LatencyTable.from_dict(table[0], 'the measured latency table')


def _measure(runner, model_cfg: dict, spec: dict,
             shape: Optional[Sequence[int]], steps: int,
             sparsity: int) -> LatencyTable:
    """Measures the table on this machine, logging what it took."""
    # imported here: only a search that measures its table needs the
    # timing tools (and, for ONNX Runtime, the ``deploy`` extra)
    from mmista.analysis.latency_measurement import build_latency_table
    start = time.perf_counter()
    table = build_latency_table(
        model_cfg, shape=shape, steps=steps, sparsity=sparsity, **spec)
    runner.logger.info(
        f'Latency table measured with {table.device.describe()} in '
        f'{time.perf_counter() - start:.1f} s')
    return table


def _find(runner, path: str) -> str:
    """A table path as given, or relative to the run's config file."""
    candidates = config_relative_candidates(runner, path)
    found = first_file(candidates)
    if found is not None or len(candidates) == 1:
        # a table alone: LatencyTable.load says what is wrong with it
        return found or path
    raise LatencyTableError(
        f'latency table {path!r} not found (nor {candidates[1]!r}, beside '
        'the config); build one with python tools/analysis_tools/'
        f'latency_table.py CONFIG --out {path}, or give '
        "budget.latency_table=dict(runtime='onnxruntime', threads=1) to "
        'measure it when the search starts')
