# Copyright (c) mmista contributors. All rights reserved.
"""Building a derived network's latency table on this machine.

See docs/en/user_guides/latency_budget.md.

The network is built with the cells of
:func:`~mmista.analysis.probe_genotypes` (every op on both kinds of edge),
each op module of each cell is timed alone at the exact input it gets in
the network, and the time of an op on one edge of every cell of a type is
the sum over those cells. The fixed part is what the whole probe networks
take beyond their edges (the median over the probes).
"""
import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from mmista.architecture import LatencyTable, Timing
from mmista.errors import ConfigError
from mmista.structures import CELL_TYPES, Genotype
from .complexity import build_counted_model, input_shape
from .edge_costs import (derived_backbone, network_description,
                         probe_genotypes, with_genotype)
from .latency_timing import (IntraOpThreads, Logits, build_timer,
                             interleaved_timings, network_input,
                             runtime_overhead, this_device)

#: ``(op, source)``: source 0 is a cell input, 1 an intermediate node.
EdgeKey = Tuple[str, int]
#: What makes two op modules time alike: op, stride 2, input shape.
OpKey = Tuple[str, bool, Tuple[int, ...]]


def sum_timings(timings: Sequence[Timing]) -> Timing:
    """The statistics of running several timed things one after another:
    medians and means summed, standard deviations added in quadrature,
    the smallest count."""
    if not timings:
        return Timing(0., 0., 0., 1)
    return Timing(
        float(sum(t.median_ms for t in timings)),
        float(sum(t.mean_ms for t in timings)),
        float(math.sqrt(sum(t.std_ms**2 for t in timings))),
        min(t.count for t in timings))


def less_overhead(timing: Timing, overhead: Timing) -> Timing:
    """``timing`` less a runtime's own overhead (median and mean, not
    below zero)."""
    return Timing(
        max(timing.median_ms - overhead.median_ms, 0.),
        max(timing.mean_ms - overhead.mean_ms, 0.), timing.std_ms,
        timing.count)


def probe_genotype(probe: List[List[Tuple[str, int]]], steps: int,
                   sparsity: int) -> Genotype:
    """The genotype whose normal and reduction cells are ``probe``, its
    edges from a cell input alternating between the two inputs.

    :func:`~mmista.analysis.probe_genotypes` takes every such edge from
    input 0; a cell that never reads its input 1 (the previous cell) leaves
    every other cell's output unused, and a runtime that drops unused
    computations (ONNX Runtime) would skip them in the whole network.
    """
    flat = []
    from_input = 0
    for node in probe:
        for op, index in node:
            if index < 2:
                index = from_input % 2
                from_input += 1
            flat.append((op, index))
    concat = list(range(2, steps + 2))
    return Genotype(
        normal=flat,
        normal_concat=concat,
        reduce=flat,
        reduce_concat=concat,
        edges_per_node=sparsity)


def op_inputs(model: nn.Module,
              example: torch.Tensor) -> Dict[nn.Module, torch.Size]:
    """The input shape of every cell op of a derived classifier, from one
    forward of ``example``."""
    shapes: Dict[nn.Module, torch.Size] = {}

    def record(module: nn.Module, args: tuple) -> None:
        shapes.setdefault(module, args[0].shape)

    handles = [
        op.register_forward_pre_hook(record)
        for cell in model.backbone.cells for op in cell.ops
    ]
    try:
        with torch.inference_mode():
            model(example, mode='tensor')
    finally:
        for handle in handles:
            handle.remove()
    return shapes


class _OpTimer:
    """Times op modules alone, once per op, stride and input shape, all of
    them in turn (:func:`~mmista.analysis.latency_timing.
    interleaved_timings`)."""

    def __init__(self, runtime: str, device: str, threads: int, warmup: int,
                 repeats: int, overhead: Optional[Timing]):
        self.runtime, self.device, self.threads = runtime, device, threads
        self.warmup, self.repeats = warmup, repeats
        self.overhead = overhead
        self.modules: Dict[OpKey, nn.Module] = {}
        self.cache: Dict[OpKey, Timing] = {}

    def add(self, key: OpKey, module: nn.Module) -> None:
        """Registers an op to time (the first module of each key)."""
        self.modules.setdefault(key, module)

    def time_all(self) -> None:
        """Times every registered op not timed yet."""
        keys = [key for key in self.modules if key not in self.cache]
        generator = torch.Generator().manual_seed(0)
        with IntraOpThreads(self.threads):
            timers = [
                build_timer(self.modules[key],
                            torch.randn(key[2], generator=generator),
                            self.runtime, self.device, self.threads)
                for key in keys
            ]
            timings = interleaved_timings(timers, self.warmup, self.repeats)
        for key, timing in zip(keys, timings):
            if self.overhead is not None:
                timing = less_overhead(timing, self.overhead)
            self.cache[key] = timing


#: Per cell type, per ``(op, source)``, the op keys of that edge in every
#: cell of the type.
EdgeOps = Dict[str, Dict[EdgeKey, Tuple[OpKey, ...]]]


def _probe_edges(model: nn.Module, genotype: Genotype, shapes: Dict,
                 timer: _OpTimer) -> EdgeOps:
    """Registers a probe's ops with ``timer``; per cell type, per
    ``(op, source)``, the op keys of that edge in every cell of the type
    (repeats checked alike)."""
    found: EdgeOps = {}
    specs = model.backbone.cell_specs
    cells = model.backbone.cells
    for cell_type in CELL_TYPES:
        reduction = cell_type == 'reduce'
        same_type = [
            i for i, s in enumerate(specs) if s.reduction == reduction
        ]
        found[cell_type] = {}
        for position, (op, index) in enumerate(getattr(genotype, cell_type)):
            key = (op, int(index >= 2))
            stride = reduction and index < 2
            op_keys = tuple(
                (op, stride, tuple(shapes[cells[i].ops[position]]))
                for i in same_type)
            seen = found[cell_type].setdefault(key, op_keys)
            if seen != op_keys:
                raise RuntimeError(
                    f'{cell_type} cells: {op} from a '
                    f'{"node" if key[1] else "cell input"} gets inputs '
                    f'{[k[2] for k in seen]} at one edge and '
                    f'{[k[2] for k in op_keys]} at another; a latency table '
                    'needs edges that depend on the op and stride only')
            for op_key, i in zip(op_keys, same_type):
                timer.add(op_key, cells[i].ops[position])
    return found


def build_latency_table(model_cfg: dict,
                        runtime: str = 'onnxruntime',
                        device: str = 'cpu',
                        threads: int = 1,
                        batch: int = 1,
                        warmup: int = 5,
                        repeats: int = 20,
                        shape: Optional[Sequence[int]] = None,
                        steps: int = 4,
                        sparsity: int = 2,
                        subtract_overhead: bool = True,
                        network_repeats: Optional[int] = None
                        ) -> LatencyTable:
    """Measures a derived network's latency table on this machine.

    Args:
        model_cfg (dict): The classifier config of the derived network (an
            ``ImageClassifier`` with a ``DerivedNet`` backbone; its genotype
            is replaced by the probes').
        runtime (str): ``'onnxruntime'`` or ``'pytorch'``. Defaults to
            ``'onnxruntime'``.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        threads (int): Intra-op threads. Defaults to 1.
        batch (int): Images per forward. Defaults to 1.
        warmup (int): Untimed runs before each timing. Defaults to 5.
        repeats (int): Timed runs of each op and network. Defaults to 20.
        shape (Sequence[int], optional): Input height [and width].
            Defaults to the stem's usual size.
        steps (int): Intermediate nodes per cell. Defaults to 4.
        sparsity (int): Edges per node. Defaults to 2.
        subtract_overhead (bool): Take the runtime's own overhead (the time
            of running an empty module) off every op timed alone, as an op
            inside a network does not pay it. Defaults to True.
        network_repeats (int, optional): Timed runs of each whole probe
            network: the fixed part rests on few networks, so they are
            timed longer. Defaults to ``5 * repeats``.

    Returns:
        LatencyTable: Method ``'ops'``; its notes hold the settings, the
        overhead, every probe's measurement and fixed part, and the
        seconds the build took.

    Raises:
        NotDerivedError: The backbone is not a ``DerivedNet`` (a
            ``ConfigError``).
        UserError: The runtime or device cannot time here.
        RuntimeError: An op gets different inputs at edges that should be
            alike.
    """
    start = time.perf_counter()
    if network_repeats is None:
        network_repeats = 5 * repeats
    derived_backbone(model_cfg, 'a latency table')
    record = this_device(runtime, device, threads, batch)
    example = network_input(model_cfg, batch, shape)
    overhead = runtime_overhead(runtime, device, threads, example, warmup,
                                repeats)
    timer = _OpTimer(runtime, device, threads, warmup, repeats,
                     overhead if subtract_overhead else None)
    edge_ops: EdgeOps = {c: {} for c in CELL_TYPES}
    genotypes, models = [], []
    for probe in probe_genotypes(steps, sparsity):
        genotype = probe_genotype(probe, steps, sparsity)
        model = build_counted_model(with_genotype(model_cfg, genotype))
        found = _probe_edges(model, genotype, op_inputs(model, example),
                             timer)
        for cell_type in CELL_TYPES:
            for key, op_keys in found[cell_type].items():
                edge_ops[cell_type].setdefault(key, op_keys)
        genotypes.append(genotype)
        models.append(model)
    timer.time_all()
    edges: Dict[str, Dict[EdgeKey, Timing]] = {
        cell: {
            key: sum_timings([timer.cache[k] for k in op_keys])
            for key, op_keys in edge_ops[cell].items()
        }
        for cell in CELL_TYPES
    }
    with IntraOpThreads(threads):
        measured_probes = interleaved_timings([
            build_timer(Logits(model), example, runtime, device, threads)
            for model in models
        ], warmup, network_repeats)
    probes = []
    for genotype, measured in zip(genotypes, measured_probes):
        edge_sum = sum_timings([
            edges[cell][(op, int(index >= 2))] for cell in CELL_TYPES
            for op, index in getattr(genotype, cell)
        ])
        probes.append(
            dict(
                genotype=genotype.to_dict(),
                measured=measured,
                edges=edge_sum))
    fixed = _fixed_part(probes)
    notes = dict(
        warmup=warmup,
        repeats=repeats,
        network_repeats=network_repeats,
        overhead=overhead.__dict__,
        overhead_subtracted=bool(subtract_overhead),
        ops_timed=len(timer.cache),
        probes=[
            dict(
                measured_ms=p['measured'].median_ms,
                edges_ms=p['edges'].median_ms,
                fixed_ms=p['measured'].median_ms - p['edges'].median_ms,
                genotype=p['genotype']) for p in probes
        ],
        seconds=round(time.perf_counter() - start, 2))
    return LatencyTable(
        device=record,
        network=network_description(model_cfg, shape),
        input_shape=(int(batch), *input_shape(model_cfg, shape)[1:]),
        fixed=fixed,
        edges=edges,
        method='ops',
        notes=notes)


def _fixed_part(probes: List[dict]) -> Timing:
    """The median over the probes of measured less edges; the mean of
    their means likewise, the standard deviation of one whole-network
    measurement."""
    medians = [p['measured'].median_ms - p['edges'].median_ms for p in probes]
    means = [p['measured'].mean_ms - p['edges'].mean_ms for p in probes]
    variance = np.mean([p['measured'].std_ms**2 for p in probes])
    return Timing(
        float(np.median(medians)), float(np.mean(means)),
        float(math.sqrt(variance)),
        min(p['measured'].count for p in probes))


def derived_network_cfg(cfg) -> dict:
    """The derived classifier config of ``cfg``: its own model, or for a
    one-stage search config the model its export has.

    Args:
        cfg (Config): A derived network's config, an export's, or a
            one-stage search config.

    Returns:
        dict: The classifier config.

    Raises:
        ConfigError: A two-stage search config (its evaluation network is
            another config).
    """
    model = cfg.model.to_dict()
    backbone_type = str(model.get('backbone', {}).get('type', ''))
    if backbone_type.split('.')[-1] != 'ISTASuperNet':
        return model
    if not model['backbone'].get('bn_append'):
        raise ConfigError(
            'a two-stage search config: its derived network is the '
            'evaluation network of another config; pass a configs/nets '
            'config (e.g. configs/nets/ista_twostage_cifar10.py)')
    from mmengine.registry import init_default_scope

    from mmista.apis.export import exported_config
    from mmista.models import exported_backbone_cfg
    from mmista.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmista'))
    supernet = MODELS.build(model['backbone'])
    exported = exported_config(cfg, exported_backbone_cfg(supernet))
    return exported.model.to_dict()
