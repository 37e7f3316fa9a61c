# Copyright (c) mmista contributors. All rights reserved.
"""Measure what ISTA-NAS's search costs against the target network and DARTS.

Three networks of the same space, channels, cells and batch are trained
for a few steps in this one process:

- ``ista``: the ISTA super-net in the one-stage search phase
  (:class:`ISTASuperNet` with BN-appended ops whose edge BatchNorms are
  frozen, supports from its first recovery): one forward of the
  classification loss, one backward, an SGD step on the weights and an
  Adam step on ``b``, through :meth:`SearchClassifier.train_step`; with
  ``--search twostage`` the two-stage super-net instead (non-affine
  BatchNorms, a non-affine BatchNorm after each pool), with the same joint
  step (a two-stage iteration runs two such passes, one per data half);
- ``target``: the derived network of the same supports, with the same
  ops (:class:`DerivedNet`, BN-appended ops; two-stage: non-affine
  BatchNorms and the pools' BatchNorms, which the two-stage network that
  is searched has): forward, backward, SGD step;
- ``dense``: the DARTS relaxation (:class:`DenseSuperNet`, every op of
  every edge): forward, backward, SGD on the weights, Adam on ``alpha``.

Every optimizer runs under ``FiniteOptimWrapper``, as the configs train
(no step on a NaN/inf loss or gradient norm); the target network is also
timed under mmengine's plain ``OptimWrapper`` (``target_unchecked``) to
price those checks.

Steps run interleaved (rotating order, each model once per round) and the
medians over the rounds are compared. Peak memory is measured per model
with the others freed: process RSS on CPU, the allocator's peak on CUDA,
above what was resident before the model was built (parameters, optimizer
state, activations and gradients of two steps). Finally one full recovery
(every node of both cell types: solve, select, install) is timed with each
solver, and once more with the default solver under a resource budget on
the target network's parameters and multiply-adds, set halfway between the
cheapest reachable network and the first recovery's, so that the
budget's exact selection (a multiple-choice knapsack over both metrics)
runs in every recovery. Then a latency table of the target network is built
(PyTorch on the CPU, few timings: its figures only need a latency table's
structure) and the recovery is timed under a latency bound alone, under
parameters and latency, and under all three metrics, every bound halfway
as before (``recovery_with_latency_budget``). The tool prints one JSON
object; its top-level ``ista_over_target_step``, ``dense_over_ista_step``,
``ista_over_target_peak_mem``, ``recovery_ms``, ``recovery_with_budget_ms``,
``recovery_with_latency_budget_ms`` (the latency bound alone) and
``finite_check_step`` (the target's step with the checks over without
them) are checked against the targets under ``targets``.

With ``--measure with_cp`` (or ``all``) the tool measures activation
checkpointing instead (or as well): the paper's evaluation network
(``configs/_base_/models/darts_cifar.py``: 20 cells, C = 36, auxiliary head,
drop path 0.2; ``--cp-channels``, ``--cp-layers``, ``--cp-batch-size`` 96
at ``--image-size``), built with and without ``with_cp=True``: the peak
memory of one forward and backward in training mode (the model's
parameters resident before, not counted) and the median step time over
``--cp-repeats`` interleaved rounds. ``with_cp_peak_mem`` (with over
without; target at most 0.6) and ``with_cp_step`` (the time it costs) are
the figures.

With ``--measure amp`` (or ``all``) it times mixed precision against
float32 instead (or as well): the super-net and the target network of
the search, each built twice, under ``FiniteOptimWrapper`` (float32) and
under ``MixedPrecisionOptimWrapper`` (the device's dtype: bfloat16 on the
CPU, float16 with loss scaling on CUDA), stepped interleaved over
``--repeats`` rounds; ``amp_over_fp32_step`` holds the median step time
under mixed precision over float32 of each.

With ``--measure compile`` the tool times ``torch.compile`` instead: the
super-net (``ista``, with the supports of its first recovery) and its
target network, each as two identical copies, one with its backbone
compiled in place (``backbone.compile()``, inductor; state-dict keys
unchanged): the first compiled step (``first_step_s``, which compiles),
the graphs and graph breaks compiled, and the median step time of
``--repeats`` interleaved rounds, compiled over eager
(``compiled_over_eager``).

Example::

    python tools/analysis_tools/benchmark.py
    python tools/analysis_tools/benchmark.py --search twostage
    python tools/analysis_tools/benchmark.py --device cuda --amp
    python tools/analysis_tools/benchmark.py --measure with_cp
    python tools/analysis_tools/benchmark.py --measure amp
    python tools/analysis_tools/benchmark.py --measure compile
"""
import argparse
import copy
import dataclasses
import json
import logging
import os
import os.path as osp
import platform
import statistics
import sys
import time
import warnings
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmpretrain.structures import DataSample

from mmista import register_all_modules
from mmista.analysis import measure_edge_costs
from mmista.analysis.latency_measurement import build_latency_table
from mmista.architecture import EdgeCosts, ResourceBudget
from mmista.cli import PeakMemory
from mmista.models.utils import reduction_indices
from mmista.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmista.sparse_coding import parse_solver_spec
from mmista.structures import CELL_TYPES

#: Upper (``max``) or lower (``min``) bounds of the headline figures.
TARGETS = {
    'ista_over_target_step': ('max', 1.05),
    'dense_over_ista_step': ('min', 8.0),
    'ista_over_target_peak_mem': ('max', 1.10),
    'recovery_ms': ('max', 5.0),
    'recovery_with_budget_ms': ('max', 5.0),
    'recovery_with_latency_budget_ms': ('max', 5.0),
    'finite_check_step': ('max', 1.02),
    'with_cp_peak_mem': ('max', 0.6),
}
#: The paper's CIFAR-10 evaluation network, measured with and without
#: activation checkpointing (``--measure with_cp``).
EVAL_NETWORK = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    '_base_', 'models', 'darts_cifar.py')
MEASURES = ('search', 'with_cp', 'amp', 'all', 'compile')
#: The budgets with a latency bound a recovery is timed under, by the
#: metrics each bounds; the first is the headline
#: ``recovery_with_latency_budget_ms``.
LATENCY_CASES = {
    'latency_ms': ('latency_ms', ),
    'params+latency_ms': ('params', 'latency_ms'),
    'params+flops+latency_ms': ('params', 'flops', 'latency_ms'),
}
MODEL_NAMES = ('ista', 'target', 'dense')
#: Timed too: the target network under mmengine's plain OptimWrapper, to
#: price FiniteOptimWrapper's checks (``finite_check_step``).
UNCHECKED_TARGET = 'target_unchecked'

#: The BatchNorm settings per search, shared by the super-net and its
#: target network (the derived network of the same ops).
SEARCH_SETTINGS = {
    'onestage': dict(affine=True, bn_append=True),
    'twostage': dict(affine=False, bn_append=False, pool_bn=True),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time and measure the ISTA super-net, its target network '
        'and the dense DARTS baseline, and time the recovery.')
    parser.add_argument(
        '--search',
        choices=tuple(SEARCH_SETTINGS),
        default='onestage',
        help='which super-net: one-stage (BN-appended ops, frozen edge '
        'BatchNorms) or two-stage (non-affine BatchNorms, pool BatchNorms)')
    parser.add_argument(
        '--channels', type=int, default=16, help='initial channels C')
    parser.add_argument('--layers', type=int, default=8, help='cells')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument(
        '--image-size', type=int, default=32, help='square input side')
    parser.add_argument(
        '--repeats',
        type=int,
        default=7,
        help='timed rounds (each model steps once per round)')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed rounds first')
    parser.add_argument(
        '--memory-steps',
        type=int,
        default=2,
        help='steps per model while its peak memory is measured')
    parser.add_argument(
        '--recovery-repeats',
        type=int,
        default=30,
        help='timed full recoveries per solver')
    parser.add_argument(
        '--solvers',
        nargs='+',
        default=['auto', 'cvxpy:CLARABEL'],
        help='recovery solvers: a registered name, optionally with a cvxpy '
        'solver after a colon (cvxpy:CLARABEL, cvxpy:MOSEK); the first is '
        'the default solver reported as recovery_ms')
    parser.add_argument(
        '--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument(
        '--amp',
        action='store_true',
        help='search figures under mixed precision '
        '(MixedPrecisionOptimWrapper: bfloat16 on the CPU, float16 on '
        'CUDA); --measure amp compares it with float32')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='CPU threads for torch (default: torch\'s own choice)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--measure',
        choices=MEASURES,
        default='search',
        help='what to measure: the search costs, activation checkpointing '
        '(with_cp) of the evaluation network, mixed precision against '
        'float32 (amp), or all three; or torch.compile of the super-net '
        'and its target network (compile)')
    parser.add_argument(
        '--cp-channels',
        type=int,
        default=36,
        help='with_cp: initial channels of the evaluation network')
    parser.add_argument(
        '--cp-layers',
        type=int,
        default=20,
        help='with_cp: cells of the evaluation network')
    parser.add_argument(
        '--cp-batch-size', type=int, default=96, help='with_cp: batch size')
    parser.add_argument(
        '--cp-repeats',
        type=int,
        default=3,
        help='with_cp: timed rounds (each variant steps once per round)')
    return parser.parse_args()


def check_args(args: argparse.Namespace) -> torch.device:
    """Validates the arguments; returns the device."""
    for name in ('channels', 'layers', 'batch_size', 'image_size', 'repeats',
                 'memory_steps', 'recovery_repeats', 'cp_channels',
                 'cp_layers', 'cp_batch_size', 'cp_repeats'):
        if getattr(args, name) < 1:
            raise SystemExit(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        raise SystemExit('--warmup must be >= 0')
    for name in ('channels', 'cp_channels'):
        if getattr(args, name) % 2:
            raise SystemExit(f'--{name.replace("_", "-")} must be even '
                             '(FactorizedReduce halves it)')
    try:
        device = torch.device(args.device)
    except RuntimeError as error:
        raise SystemExit(f'--device {args.device!r}: {error}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {args.device}: no CUDA device here '
                         '(torch.cuda.is_available() is False)')
    if device.type not in ('cpu', 'cuda'):
        raise SystemExit(f'--device must be cpu or cuda, got {args.device}')
    return device


def classifier_cfg(backbone: dict, args: argparse.Namespace,
                   classifier: str) -> dict:
    """A 10-class classifier around ``backbone`` (no auxiliary head)."""
    # each reduction cell doubles the channels; a cell outputs its 4 nodes
    reductions = len(set(reduction_indices(args.layers)))
    return dict(
        type=classifier,
        data_preprocessor=dict(
            type='ClsDataPreprocessor',
            num_classes=10,
            mean=[125.3, 123.0, 113.9],
            std=[63.0, 62.1, 66.7]),
        backbone=dict(channels=args.channels, layers=args.layers, **backbone),
        neck=None,
        head=dict(
            type='DartsClsHead',
            num_classes=10,
            in_channels=4 * args.channels * 2**reductions,
            loss=dict(type='CrossEntropyLoss'),
            topk=(1, )))


def wrapper_type(args: argparse.Namespace, checked: bool = True) -> str:
    """The configs' optimizer wrapper: FiniteOptimWrapper (no step on a
    NaN/inf loss or gradient norm), or mmengine's plain one; AMP's under
    ``--amp``."""
    if args.amp:
        return 'MixedPrecisionOptimWrapper'
    return 'FiniteOptimWrapper' if checked else 'OptimWrapper'


def weights_optim(args: argparse.Namespace, checked: bool = True) -> dict:
    """The one-stage weights optimizer (docs/en/method/onestage.md)."""
    return dict(
        type=wrapper_type(args, checked),
        optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
        clip_grad=dict(max_norm=5.))


def search_optim(model: torch.nn.Module,
                 args: argparse.Namespace) -> OptimWrapper:
    """Weights and architecture wrappers of a one-stage search."""
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='SearchOptimWrapperConstructor',
            optim_wrapper_cfg=dict(
                weights=weights_optim(args),
                architecture=dict(
                    type=wrapper_type(args),
                    optimizer=dict(
                        type='Adam',
                        lr=3e-4,
                        betas=(0.5, 0.999),
                        weight_decay=1e-3)))))
    return constructor(model)


def build_ista(args: argparse.Namespace,
               device: torch.device) -> Tuple[torch.nn.Module, OptimWrapper]:
    """The ISTA super-net at the start of its search."""
    model = MODELS.build(
        classifier_cfg(
            dict(
                type='ISTASuperNet',
                arch_seed=args.seed,
                **SEARCH_SETTINGS[args.search]), args,
            'SearchClassifier'))
    model.backbone.recover()  # the supports a search starts from
    if args.search == 'onestage':
        model.backbone.sync_edge_batchnorms()
    model.to(device)
    return model, search_optim(model, args)


def build_target(genotype: dict,
                 args: argparse.Namespace,
                 device: torch.device,
                 checked: bool = True) -> Tuple[torch.nn.Module, OptimWrapper]:
    """The derived network of the super-net's supports (``checked``: under
    FiniteOptimWrapper, as the configs train it)."""
    model = MODELS.build(target_classifier_cfg(genotype, args)).to(device)
    return model, build_optim_wrapper(model, weights_optim(args, checked))


def build_dense(args: argparse.Namespace,
                device: torch.device) -> Tuple[torch.nn.Module, OptimWrapper]:
    """The dense DARTS relaxation, searched one-stage like the super-net."""
    model = MODELS.build(
        classifier_cfg(dict(type='DenseSuperNet'), args,
                       'SearchClassifier')).to(device)
    return model, search_optim(model, args)


def make_batch(args: argparse.Namespace) -> dict:
    """A fixed batch of random uint8 images and labels."""
    generator = torch.Generator().manual_seed(args.seed)
    images = torch.randint(
        0,
        256, (args.batch_size, 3, args.image_size, args.image_size),
        dtype=torch.uint8,
        generator=generator)
    labels = torch.randint(0, 10, (args.batch_size, ), generator=generator)
    return dict(
        inputs=images,
        data_samples=[DataSample().set_gt_label(int(y)) for y in labels])


def synchronize(device: torch.device) -> None:
    """Waits for the device's queued work (no-op on CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed_step(model: torch.nn.Module, optim_wrapper: OptimWrapper,
               batch: dict, device: torch.device) -> float:
    """Seconds of one training step (forward, backward, optimizers)."""
    synchronize(device)
    start = time.perf_counter()
    model.train_step(batch, optim_wrapper)
    synchronize(device)
    return time.perf_counter() - start


def time_steps(models: Dict[str, Tuple[torch.nn.Module, OptimWrapper]],
               batch: dict, args: argparse.Namespace,
               device: torch.device) -> Dict[str, List[float]]:
    """Interleaved training steps; the seconds of the timed rounds."""
    names = list(models)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for round_index in range(args.warmup + args.repeats):
        shift = round_index % len(names)  # no model always runs first
        for name in names[shift:] + names[:shift]:
            seconds = timed_step(*models[name], batch, device)
            if round_index >= args.warmup:
                times[name].append(seconds)
    return times


def peak_step_memory(build: Callable[[], Tuple[torch.nn.Module,
                                               OptimWrapper]],
                     batch: dict, args: argparse.Namespace,
                     device: torch.device) -> Tuple[int, str]:
    """Peak memory of building a model and training it a few steps."""
    with PeakMemory(device) as meter:
        model, optim_wrapper = build()
        for _ in range(args.memory_steps):
            model.train_step(batch, optim_wrapper)
        del model, optim_wrapper
    return meter.peak_bytes, meter.method


def count_host_syncs(call: Callable[[], object],
                     device: torch.device) -> int:
    """Host synchronisations while ``call()`` runs (CUDA only).

    The call runs under ``torch.cuda.set_sync_debug_mode('warn')`` and
    every synchronisation warning is counted; the device's queued work is
    waited for first, and the previous debug mode is restored after.

    Args:
        call (Callable): What to run, e.g. one training step.
        device (torch.device): A CUDA device.

    Returns:
        int: The synchronisations the call made.
    """
    synchronize(device)
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            call()
        finally:
            torch.cuda.set_sync_debug_mode(previous)
    return sum('synchroniz' in str(w.message) for w in caught)


def forward_host_syncs(model: torch.nn.Module, batch: dict,
                       device: torch.device) -> int:
    """Host synchronisations in one training forward (CUDA only).

    The batch is moved to the device first; the forward of the loss then
    runs under :func:`count_host_syncs`.
    """
    data = model.data_preprocessor(batch, True)
    return count_host_syncs(lambda: model(**data, mode='loss'), device)


def cpu_name() -> str:
    """The processor's model name (Linux), else what platform says."""
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_recovery(supernet: torch.nn.Module, args: argparse.Namespace,
                  logger: MMLogger) -> Dict[str, dict]:
    """Median milliseconds of one full recovery per solver."""
    report = {}
    for spec in args.solvers:
        level = logger.level
        logger.setLevel(logging.WARNING)  # not one line per solve
        try:
            report[spec] = time_solver(supernet, spec, args)
        finally:
            logger.setLevel(level)
        logger.info(f'recovery with {spec}: '
                    f'{report[spec]["median_ms"]:.2f} ms (median)')
    return report


def time_solver(supernet: torch.nn.Module,
                spec: str,
                args: argparse.Namespace,
                budget: ResourceBudget = None) -> dict:
    """Times full recoveries of a copy of the super-net's architecture."""
    architecture = copy.deepcopy(supernet.architecture).cpu()
    solver = parse_solver_spec(spec)
    architecture.recover(
        lam=supernet.lam, solver=solver, budget=budget)  # warm-up
    samples = []
    for _ in range(args.recovery_repeats):
        start = time.perf_counter()
        result = architecture.recover(
            lam=supernet.lam, solver=solver, budget=budget)
        samples.append(time.perf_counter() - start)
    report = dict(
        median_ms=statistics.median(samples) * 1e3,
        min_ms=min(samples) * 1e3,
        runs=len(samples))
    if budget is not None:
        report.update(
            # null for an unbounded metric (JSON has no infinity)
            budget={m: budget.limit(m) for m in budget.metrics},
            proposed_cost=dict(
                zip(budget.metrics, result.budget.proposed_cost.tolist())),
            cost=dict(zip(budget.metrics, result.budget.cost.tolist())),
            changed_nodes=result.budget.changed)
    return report


def target_classifier_cfg(genotype: dict, args: argparse.Namespace) -> dict:
    """The classifier config of the target network."""
    return classifier_cfg(
        dict(
            type='DerivedNet', genotype=genotype,
            **SEARCH_SETTINGS[args.search]), args, 'ImageClassifier')


def target_edge_costs(supernet: torch.nn.Module, genotype: dict,
                      args: argparse.Namespace) -> EdgeCosts:
    """The target network's parameters and multiply-adds per edge (at
    ``--image-size``)."""
    architecture = supernet.architecture
    return measure_edge_costs(
        target_classifier_cfg(genotype, args),
        steps=architecture.steps,
        sparsity=architecture.sparsity,
        shape=[args.image_size])


def halfway_budget(supernet: torch.nn.Module, edge_costs: EdgeCosts,
                   metrics: Tuple[str, ...]) -> ResourceBudget:
    """A budget on ``metrics``, each bound halfway between the cheapest
    reachable network and the one of the super-net's current supports."""
    architecture = supernet.architecture
    proposed = edge_costs.network_cost(
        {cell: architecture.supports(cell)
         for cell in CELL_TYPES})
    cheapest = edge_costs.fixed + sum(
        np.sort(edge_costs.candidate_costs(cell, j),
                axis=0)[:architecture.sparsity].sum(0)
        for cell in CELL_TYPES for j in range(architecture.steps))
    limits = (cheapest + proposed) / 2
    return ResourceBudget(
        edge_costs, **{
            metric: float(limits[edge_costs.metrics.index(metric)])
            for metric in metrics
        })


def time_budgeted_recovery(supernet: torch.nn.Module, edge_costs: EdgeCosts,
                           args: argparse.Namespace) -> dict:
    """Median milliseconds of one full recovery under a resource budget.

    The budget bounds the target network's parameters and multiply-adds
    (``edge_costs``, from :func:`target_edge_costs`) halfway between the
    cheapest reachable network and the one of the first recovery's
    supports, so every timed recovery solves the knapsack over both
    metrics.
    """
    budget = halfway_budget(supernet, edge_costs, ('params', 'flops'))
    return time_solver(supernet, args.solvers[0], args, budget)


def time_latency_budgeted_recoveries(supernet: torch.nn.Module,
                                     genotype: dict, edge_costs: EdgeCosts,
                                     args: argparse.Namespace
                                     ) -> Dict[str, dict]:
    """Median milliseconds of one full recovery under each budget of
    :data:`LATENCY_CASES`.

    The latency comes from a table of the target network built here
    (PyTorch on the CPU, one thread, batch 1, few timings: only its
    structure matters, not its figures; a fixed part below zero, which ops
    timed alone can give a network this small, is taken as zero so that
    every bound is positive) and added to ``edge_costs`` (the target's
    parameters and multiply-adds); every bound is set halfway, as in
    :func:`time_budgeted_recovery`.

    Returns:
        dict: Per case, :func:`time_solver`'s report; ``table`` holds how
        the table was made and the seconds it took.
    """
    architecture = supernet.architecture
    table = build_latency_table(
        target_classifier_cfg(genotype, args),
        runtime='pytorch',
        device='cpu',
        threads=1,
        warmup=1,
        repeats=3,
        shape=[args.image_size],
        steps=architecture.steps,
        sparsity=architecture.sparsity)
    if table.fixed.median_ms < 0:
        table = dataclasses.replace(
            table, fixed=dataclasses.replace(table.fixed, median_ms=0.))
    edge_costs = edge_costs.with_latency(table,
                                         'the benchmark\'s latency table')
    report = {
        case: time_solver(supernet, args.solvers[0], args,
                          halfway_budget(supernet, edge_costs, metrics))
        for case, metrics in LATENCY_CASES.items()
    }
    report['table'] = dict(
        device=table.device.describe(),
        method=table.method,
        seconds=table.notes.get('seconds'))
    return report


def build_eval_network(args: argparse.Namespace, device: torch.device,
                       with_cp: bool) -> torch.nn.Module:
    """The evaluation network of :data:`EVAL_NETWORK` at the ``--cp-*``
    size, in training mode, with or without activation checkpointing."""
    model_cfg = Config.fromfile(EVAL_NETWORK).model
    model_cfg.backbone.update(
        channels=args.cp_channels,
        layers=args.cp_layers,
        drop_path_prob=0.2,
        with_cp=with_cp)
    # the auxiliary map first, then the last cell's
    aux_channels, channels = MODELS.build(model_cfg.backbone).out_channels
    model_cfg.head.update(in_channels=channels, aux_in_channels=aux_channels)
    model_cfg.data_preprocessor = dict(
        type='ClsDataPreprocessor',
        num_classes=10,
        mean=[125.3, 123.0, 113.9],
        std=[63.0, 62.1, 66.7])
    return MODELS.build(model_cfg).to(device).train()


def forward_backward(model: torch.nn.Module, batch: dict,
                     device: torch.device) -> float:
    """Seconds of one forward of the losses and one backward."""
    model.zero_grad(set_to_none=True)
    synchronize(device)
    start = time.perf_counter()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    synchronize(device)
    return time.perf_counter() - start


def measure_with_cp(args: argparse.Namespace, device: torch.device,
                    logger: MMLogger) -> dict:
    """Peak memory and step time of the evaluation network with and
    without ``with_cp``."""
    batch = make_batch(
        argparse.Namespace(
            seed=args.seed,
            batch_size=args.cp_batch_size,
            image_size=args.image_size))
    variants = {'plain': False, 'with_cp': True}
    peak_mem = {}
    for name, with_cp in variants.items():
        model = build_eval_network(args, device, with_cp)
        with PeakMemory(device) as meter:
            forward_backward(model, batch, device)
        peak_mem[name] = meter.peak_bytes
        logger.info(f'peak memory of one forward and backward, {name}: '
                    f'{peak_mem[name] / 2**20:.1f} MiB')
        del model
    models = {
        name: build_eval_network(args, device, with_cp)
        for name, with_cp in variants.items()
    }
    seconds = {name: [] for name in models}
    for round_index in range(args.cp_repeats):
        names = list(models)[round_index % 2:] + list(models)[:round_index % 2]
        for name in names:
            seconds[name].append(
                forward_backward(models[name], batch, device))
    median = {name: statistics.median(s) for name, s in seconds.items()}
    logger.info('median forward+backward seconds: ' +
                ', '.join(f'{k} {v:.2f}' for k, v in median.items()))
    return dict(
        with_cp_peak_mem=peak_mem['with_cp'] / peak_mem['plain'],
        with_cp_step=median['with_cp'] / median['plain'],
        peak_mem_mib={k: v / 2**20
                      for k, v in peak_mem.items()},
        step_seconds_median=median,
        step_seconds=seconds,
        config=dict(
            network=osp.relpath(EVAL_NETWORK),
            channels=args.cp_channels,
            layers=args.cp_layers,
            batch_size=args.cp_batch_size,
            image_size=args.image_size,
            drop_path_prob=0.2,
            repeats=args.cp_repeats))


def measure_amp(args: argparse.Namespace, device: torch.device,
                logger: MMLogger) -> dict:
    """Step times of the super-net and its target network under mixed
    precision and in float32, interleaved."""
    batch = make_batch(args)
    precisions = {
        '': argparse.Namespace(**dict(vars(args), amp=False)),
        '_amp': argparse.Namespace(**dict(vars(args), amp=True)),
    }
    ista = build_ista(precisions[''], device)
    genotype = ista[0].backbone.genotype().to_dict()
    models = {}
    for suffix, settings in precisions.items():
        models[f'ista{suffix}'] = ista if not suffix else build_ista(
            settings, device)
        models[f'target{suffix}'] = build_target(genotype, settings, device)
    dtype = models['ista_amp'][1]['weights'].cast_dtype
    times = time_steps(models, batch, args, device)
    median = {name: statistics.median(s) for name, s in times.items()}
    ratios = {
        name: median[f'{name}_amp'] / median[name]
        for name in ('ista', 'target')
    }
    logger.info(f'median step seconds, float32 and {dtype}: ' +
                ', '.join(f'{k} {v:.4f}' for k, v in median.items()))
    return dict(
        amp_over_fp32_step=ratios,
        dtype=str(dtype).replace('torch.', ''),
        step_seconds_median=median,
        step_seconds=times,
        config=run_settings(args, device))


def measure_compile(args: argparse.Namespace, device: torch.device,
                    logger: MMLogger) -> dict:
    """Compile time and step times, compiled against eager, of the
    super-net and of its target network."""
    from torch._dynamo.utils import counters

    batch = make_batch(args)
    genotype = build_ista(args, device)[0].backbone.genotype().to_dict()
    builders = {
        'ista': lambda: build_ista(args, device),
        'target': lambda: build_target(genotype, args, device),
    }
    report = {}
    for name, build in builders.items():
        models = {'eager': build(), 'compiled': build()}
        models['compiled'][0].backbone.compile()
        torch._dynamo.reset()
        counters.clear()
        first_step_s = timed_step(*models['compiled'], batch, device)
        graphs = counters['stats']['unique_graphs']
        breaks = sum(counters['graph_break'].values())
        times = time_steps(models, batch, args, device)
        median = {k: statistics.median(v) for k, v in times.items()}
        report[name] = dict(
            first_step_s=first_step_s,
            step_seconds_median=median,
            compiled_over_eager=median['compiled'] / median['eager'],
            graphs=graphs,
            graph_breaks=breaks,
            step_seconds=times)
        logger.info(f'{name}: first compiled step {first_step_s:.1f} s; '
                    f'median step eager {median["eager"]:.4f} s, compiled '
                    f'{median["compiled"]:.4f} s; {graphs} graph(s), '
                    f'{breaks} graph break(s)')
    return dict(
        compile=report,
        genotype=genotype,
        config=run_settings(args, device))


def run_settings(args: argparse.Namespace, device: torch.device) -> dict:
    """The network size and timing settings a measurement ran with."""
    return dict(
        search=args.search,
        channels=args.channels,
        layers=args.layers,
        batch_size=args.batch_size,
        image_size=args.image_size,
        repeats=args.repeats,
        warmup=args.warmup,
        device=str(device),
        threads=torch.get_num_threads(),
        seed=args.seed)


def check_targets(figures: Dict[str, float]) -> Dict[str, dict]:
    """Compares the headline figures measured with :data:`TARGETS`."""
    checked = {}
    for key, (kind, bound) in TARGETS.items():
        if key not in figures:
            continue
        value = figures[key]
        holds = value <= bound if kind == 'max' else value >= bound
        checked[key] = dict(value=value, **{kind: bound}, holds=holds)
    return checked


def quiet_logger() -> MMLogger:
    """A logger writing to stderr only, so stdout holds just the JSON."""
    # The newest instance is the one mmengine's print_log(logger='current')
    # writes to.
    logger = MMLogger.get_instance(
        f'benchmark_{time.time_ns()}', log_level='INFO')
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    return logger


def machine_report(device: torch.device) -> dict:
    """The versions and hardware the figures were measured on."""
    return dict(
        torch=torch.__version__,
        cpu=cpu_name(),
        cpu_count=os.cpu_count(),
        cuda_device=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else None)


def main() -> None:
    args = parse_args()
    device = check_args(args)
    register_all_modules()
    logger = quiet_logger()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(args.seed)
    report = measure_search(args, device, logger) \
        if args.measure in ('search', 'all') else {}
    if args.measure == 'compile':
        report = measure_compile(args, device, logger)
    if args.measure in ('with_cp', 'all'):
        with_cp = measure_with_cp(args, device, logger)
        report.update(
            with_cp_peak_mem=with_cp['with_cp_peak_mem'],
            with_cp_step=with_cp['with_cp_step'],
            with_cp=with_cp)
    if args.measure in ('amp', 'all'):
        amp = measure_amp(args, device, logger)
        report.update(amp_over_fp32_step=amp['amp_over_fp32_step'], amp=amp)
    figures = {k: v for k, v in report.items() if k in TARGETS}
    report = dict(
        report,
        targets=check_targets(figures),
        measure=args.measure,
        machine=dict(
            machine_report(device), threads=torch.get_num_threads()))
    print(json.dumps(report, indent=2))


def measure_search(args: argparse.Namespace, device: torch.device,
                   logger: MMLogger) -> dict:
    """The search figures: step times and peak memory of the three
    networks, the recovery times."""
    batch = make_batch(args)

    ista = build_ista(args, device)
    genotype = ista[0].backbone.genotype()
    builders = {
        'ista': lambda: build_ista(args, device),
        'target': lambda: build_target(genotype.to_dict(), args, device),
        'dense': lambda: build_dense(args, device),
    }
    models = {
        name: ista if name == 'ista' else builders[name]()
        for name in MODEL_NAMES
    }
    models[UNCHECKED_TARGET] = build_target(
        genotype.to_dict(), args, device, checked=False)
    logger.info(f'supports of the first recovery: {genotype}')
    times = time_steps(models, batch, args, device)
    step_s = {name: statistics.median(steps) for name, steps in times.items()}
    logger.info('median step seconds: ' +
                ', '.join(f'{k} {v:.4f}' for k, v in step_s.items()))
    syncs = (
        forward_host_syncs(ista[0], batch, device)
        if device.type == 'cuda' else None)
    recovery = time_recovery(ista[0].backbone, args, logger)
    edge_costs = target_edge_costs(ista[0].backbone, genotype.to_dict(),
                                   args)
    budgeted = time_budgeted_recovery(ista[0].backbone, edge_costs, args)
    logger.info(f'recovery under a resource budget: '
                f'{budgeted["median_ms"]:.2f} ms (median); nodes the budget '
                f'changed: {budgeted["changed_nodes"]}')
    latency_budgeted = time_latency_budgeted_recoveries(
        ista[0].backbone, genotype.to_dict(), edge_costs, args)
    for case in LATENCY_CASES:
        logger.info(f'recovery under a {case} budget: '
                    f'{latency_budgeted[case]["median_ms"]:.2f} ms (median)')
    num_params = {
        name: sum(p.numel() for p in model.parameters())
        for name, (model, _) in models.items()
    }
    del models, ista

    peak_mem, method = {}, None
    for name in MODEL_NAMES:
        peak_mem[name], method = peak_step_memory(builders[name], batch,
                                                  args, device)
        logger.info(f'peak memory of {name}: {peak_mem[name] / 2**20:.1f} '
                    'MiB')

    figures = dict(
        ista_over_target_step=step_s['ista'] / step_s['target'],
        dense_over_ista_step=step_s['dense'] / step_s['ista'],
        ista_over_target_peak_mem=peak_mem['ista'] / peak_mem['target'],
        recovery_ms=recovery[args.solvers[0]]['median_ms'],
        recovery_with_budget_ms=budgeted['median_ms'],
        recovery_with_latency_budget_ms=latency_budgeted[next(
            iter(LATENCY_CASES))]['median_ms'],
        finite_check_step=step_s['target'] / step_s[UNCHECKED_TARGET])
    return dict(
        **figures,
        step_seconds_median=step_s,
        step_seconds=times,
        peak_mem_mib={k: v / 2**20
                      for k, v in peak_mem.items()},
        peak_mem_method=method,
        recovery=recovery,
        recovery_with_budget=budgeted,
        recovery_with_latency_budget=latency_budgeted,
        default_solver=args.solvers[0],
        ista_forward_host_syncs=syncs,
        num_params=num_params,
        genotype=genotype.to_dict(),
        config=dict(
            run_settings(args, device),
            memory_steps=args.memory_steps,
            recovery_repeats=args.recovery_repeats,
            amp=args.amp))


if __name__ == '__main__':
    main()
