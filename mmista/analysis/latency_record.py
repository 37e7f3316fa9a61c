# Copyright (c) mmista contributors. All rights reserved.
"""The latency record of an exported network: what the latency table
predicts for it and, where this machine is the table's device, what it
measures (``latency.json`` of an export, see
docs/en/user_guides/export.md)."""
from dataclasses import asdict
from typing import List, Optional

from mmista.architecture import (DeviceRecord, LatencyTable, LatencyTableError,
                                 edges_of_genotype)
from mmista.errors import UserError
from mmista.structures import Genotype
from .edge_costs import derived_backbone, network_description, with_genotype
from .latency_timing import measure_network_summary, this_device

#: The file of an export's latency record, beside its ``genotype.json``.
LATENCY_FILE = 'latency.json'


def export_latency_record(model_cfg: dict,
                          genotype: Genotype,
                          table: LatencyTable,
                          budget_ms: Optional[float] = None,
                          measure: bool = True,
                          warmup: int = 10,
                          repeats: int = 50,
                          export_dir: str = 'EXPORT_DIR') -> dict:
    """Predicts, and where it can measures, an exported network's latency.

    The network is measured (its logits, eval mode, no auxiliary head) only
    when this machine is the table's device (same runtime, device,
    processor, threads and batch; see
    :meth:`~mmista.architecture.DeviceRecord.differences`), with the
    table's runtime, threads and batch at its input shape. Elsewhere the
    record says why it was not measured and how to measure it there.

    Args:
        model_cfg (dict): The exported classifier config (a ``DerivedNet``
            backbone).
        genotype (Genotype): The exported architecture (it replaces the
            config's).
        table (LatencyTable): The latency table of the budget.
        budget_ms (float, optional): The latency bound. Defaults to None.
        measure (bool): Measure when the device matches. Defaults to True.
        warmup (int): Untimed runs first. Defaults to 10.
        repeats (int): Timed runs. Defaults to 50.
        export_dir (str): The export folder, for the command in
            ``not_measured``. Defaults to ``'EXPORT_DIR'``.

    Returns:
        dict: ``network``, ``predicted_ms``, ``budget_ms``,
        ``predicted_within_budget``, ``table`` (its ``network``,
        ``device``, ``device_description``, ``input_shape``, ``method``),
        ``measured`` (``median_ms``, ``p90_ms``, ``mean_ms``, ``std_ms``,
        ``count``, ``runtime``, ``device``, ``threads``, ``batch``,
        ``input_shape``; None when not measured), ``within_budget``
        (measured median <= budget; None without both) and
        ``not_measured`` (why not; None when measured).

    Raises:
        NotDerivedError: The backbone is not a ``DerivedNet``.
        LatencyTableError: The table was built for another network.
    """
    derived_backbone(model_cfg, 'the latency record of an export')
    model_cfg = with_genotype(model_cfg, genotype)
    network = network_description(model_cfg, table.input_shape)
    if network != table.network:
        raise LatencyTableError(
            f'the latency table was built for {table.network}, the '
            f'exported network is {network}: its predictions do not apply; '
            'build the table for the exported network (budget.network or '
            'tools/analysis_tools/latency_table.py on the export\'s '
            'config.py)')
    predicted = table.predict(edges_of_genotype(genotype))
    record = dict(
        network=network,
        predicted_ms=predicted,
        budget_ms=None if budget_ms is None else float(budget_ms),
        predicted_within_budget=None if budget_ms is None else bool(
            predicted <= budget_ms),
        table=dict(
            network=table.network,
            device=asdict(table.device),
            device_description=table.device.describe(),
            input_shape=list(table.input_shape),
            method=table.method),
        measured=None,
        within_budget=None,
        not_measured=None)
    reason = _elsewhere(table, export_dir) if measure else 'measure=False'
    if reason is not None:
        record['not_measured'] = reason
        return record
    device = table.device
    measured = measure_network_summary(
        model_cfg,
        device.runtime,
        device.device,
        device.threads,
        device.batch,
        warmup,
        repeats,
        shape=table.input_shape[2:])
    record['measured'] = dict(
        measured,
        runtime=device.runtime,
        device=device.device,
        threads=device.threads,
        batch=device.batch,
        input_shape=[device.batch, *table.input_shape[1:]])
    if budget_ms is not None:
        record['within_budget'] = bool(measured['median_ms'] <= budget_ms)
    return record


def _elsewhere(table: LatencyTable, export_dir: str) -> Optional[str]:
    """Why this machine cannot measure as the table's device, or None."""
    device = table.device
    try:
        here = this_device(device.runtime, device.device, device.threads,
                           device.batch)
        differences: List[str] = device.differences(here)
    except UserError as error:  # no CUDA, no onnxruntime here
        differences = [str(error.args[0]) if error.args else str(error)]
    if not differences:
        return None
    return (f'this machine is not the table\'s device '
            f'({"; ".join(differences)}); measure on '
            f'{device.describe()}: ' + measure_command(device, export_dir))


def measure_command(device: DeviceRecord, export_dir: str) -> str:
    """The command that measures an export on ``device``."""
    check = (f'python tools/analysis_tools/latency_check.py '
             f'{export_dir}/config.py --table TABLE')
    if device.device != 'cpu':
        return f'{check} (convert.py --time times on cpu only)'
    return (f'python tools/deployment/convert.py {export_dir} --time '
            f'--threads {device.threads} --time-batch {device.batch} '
            f'(or check the table there with {check})')


def deployed_against_budget(record: dict, runtime: str, threads: int,
                            batch: int, median_ms: float) -> Optional[dict]:
    """How a converted model's measured latency compares with the latency
    budget of the search that exported it (its ``latency.json``).

    The export's record predicts and measures the network as the latency
    table times it (a fixed-shape graph of the logits); the converted file
    (normalisation inside, a dynamic batch size, another exporter) may run
    at another speed, and it is what a deployment runs.

    Args:
        record (dict): The export's record
            (:func:`export_latency_record`).
        runtime (str): The runtime the file was timed with.
        threads (int): Its intra-op threads.
        batch (int): Images per run.
        median_ms (float): The file's median milliseconds.

    Returns:
        dict | None: ``budget_ms``, ``median_ms``, ``within_budget`` and
        ``line`` (what to print), or None when there is no budget or the
        file was not timed as the table's device times (another runtime,
        processor, threads or batch): then the two do not compare.
    """
    budget = record.get('budget_ms')
    table = record['table']['device']
    if budget is None or table.get('device') != 'cpu':
        return None
    try:
        here = this_device(runtime, 'cpu', threads, batch)
    except UserError:
        return None
    if DeviceRecord(**table).differences(here):
        return None
    within = bool(median_ms <= budget)
    line = (f'the search\'s latency budget {budget:.3f} ms (latency.json: '
            f'predicted {record["predicted_ms"]:.3f} ms')
    measured = record.get('measured')
    if measured is not None:
        line += (f', measured {measured["median_ms"]:.3f} ms as the table '
                 'times the network')
    line += f'): this file\'s median {median_ms:.3f} ms is '
    if within:
        line += 'within it'
    else:
        excess = 100 * (median_ms - budget) / budget
        line += (f'over it by {excess:.1f}%; search again with a lower '
                 'latency_ms, or time the file again on a quiet machine '
                 '(more --repeats)')
    return dict(budget_ms=float(budget), median_ms=float(median_ms),
                within_budget=within, line=line)


def describe_latency_record(record: dict) -> str:
    """The log line of a record: ``Exported network latency: predicted 3.21
    ms, measured 3.30 ms (median, p90 3.50) on <device>; budget 4.00 ms:
    within`` (``exceeds the budget by 2.5%: ...``, ``not measured here
    (...)``)."""
    text = ('Exported network latency: predicted '
            f'{record["predicted_ms"]:.2f} ms')
    measured = record['measured']
    device = record['table']['device_description']
    if measured is not None:
        text += (f', measured {measured["median_ms"]:.2f} ms (median, p90 '
                 f'{measured["p90_ms"]:.2f}) on {device}')
    else:
        text += f' on {device}'
    budget = record['budget_ms']
    if budget is not None:
        text += f'; budget {budget:.2f} ms: '
        if measured is None:
            text += ('predicted within' if record['predicted_within_budget']
                     else 'predicted over it')
        elif record['within_budget']:
            text += 'within'
        else:
            excess = 100 * (measured['median_ms'] - budget) / budget
            text += (f'exceeds the budget by {excess:.1f}%: the table '
                     f'predicted {record["predicted_ms"]:.2f} ms; check it '
                     'on this network with '
                     'tools/analysis_tools/latency_check.py, or search with '
                     'a lower latency_ms')
    if measured is None:
        text += f'; not measured here ({record["not_measured"]})'
    return text
