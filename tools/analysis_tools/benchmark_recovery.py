# Copyright (c) mmista contributors. All rights reserved.
"""Benchmark the LASSO recovery backends on ISTA-NAS shapes.

One instance is one full recovery: the 8 intermediate nodes of a normal and
a reduction cell (``A_j`` uniform on ``[0, 1)``, ``m = 7`` rows,
``n_j = 14, 21, 28, 35``), each with a 2-sparse ground truth ``z`` and
``b = A z + noise``. Every solver recovers every instance; the tool prints
one JSON object with the median time per full recovery of each solver and,
for every solver other than the reference, its agreement with the
reference: top-2 support equality over the nodes whose reference top-2 is
not a near tie (also counted per instance: all its compared nodes equal),
the number of near ties skipped, the worst relative objective gap
``(f(z_solver) - f(z_ref)) / max(f(z_ref), tiny)`` (negative: the solver
found a lower objective) and its largest KKT residual in units of lam.

Example::

    python tools/analysis_tools/benchmark_recovery.py --instances 1000
"""
import argparse
import json
import logging
import sys
import time
from typing import Any, Dict, List, Tuple

import numpy as np
from mmengine.logging import MMLogger

from mmista.sparse_coding import (kkt_residual, lasso_objective,
                                  parse_solver_spec, solve_lasso)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time LASSO backends on full ISTA-NAS recoveries and '
        'check their agreement with a reference backend.')
    parser.add_argument(
        '--instances',
        type=int,
        default=1000,
        help='random full recoveries (8 nodes each)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=3,
        help='timed runs of every solver on every instance')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--solvers',
        nargs='+',
        default=['homotopy', 'cvxpy:CLARABEL'],
        help='solvers to run: a registered name, optionally with a cvxpy '
        'solver after a colon (cvxpy:CLARABEL, cvxpy:SCS, cvxpy)')
    parser.add_argument(
        '--reference',
        default='cvxpy:CLARABEL',
        help='the solver the others are compared with')
    parser.add_argument('--lam', type=float, default=1e-5, help='l1 weight')
    parser.add_argument(
        '--proj-dim', type=int, default=7, help='rows m of each A_j')
    parser.add_argument(
        '--steps', type=int, default=4, help='intermediate nodes per cell')
    parser.add_argument(
        '--sparsity',
        type=int,
        default=2,
        help='non-zeros of the ground truth and size of the compared support')
    parser.add_argument(
        '--scale-range',
        type=float,
        nargs=2,
        default=[1e-3, 1.0],
        help='magnitude range of the ground-truth non-zeros (log-uniform '
        'per node, times U(0.5, 1.5) per entry)')
    parser.add_argument(
        '--noise',
        type=float,
        default=1e-2,
        help='noise std relative to the RMS of A z_true')
    parser.add_argument(
        '--tie-tol',
        type=float,
        default=1e-4,
        help='a node is a near tie when the s-th and (s+1)-th largest '
        '|z_ref| differ by at most tie_tol times the largest')
    return parser.parse_args()


def make_instance(
        rng: np.random.Generator,
        args: argparse.Namespace) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Draws the 8 (A, b) pairs of one full recovery."""
    As, bs = [], []
    for _cell in ('normal', 'reduce'):
        for j in range(args.steps):
            n = (2 + j) * 7
            A = rng.random((args.proj_dim, n))
            z = np.zeros(n)
            support = rng.choice(n, size=args.sparsity, replace=False)
            scale = 10**rng.uniform(*np.log10(args.scale_range))
            z[support] = (
                rng.choice([-1.0, 1.0], size=args.sparsity) *
                rng.uniform(0.5, 1.5, size=args.sparsity) * scale)
            clean = A @ z
            rms = np.sqrt(np.mean(clean**2))
            b = clean + args.noise * rms * rng.standard_normal(args.proj_dim)
            As.append(A)
            bs.append(b)
    return As, bs


def top_support(z: np.ndarray, s: int) -> Tuple[frozenset, bool, float]:
    """Top-s support (stable, lower index wins), near-tie gap."""
    order = np.argsort(-np.abs(z), kind='stable')
    mags = np.abs(z)[order]
    largest = mags[0]
    gap = mags[s - 1] - mags[s] if len(z) > s else np.inf
    return frozenset(order[:s].tolist()), largest, gap


def main() -> None:
    args = parse_args()
    if args.instances < 1 or args.repeats < 1:
        raise SystemExit('--instances and --repeats must be >= 1')
    logger = MMLogger.get_instance(
        f'benchmark_recovery_{time.time_ns()}', log_level='WARNING')
    for handler in logger.handlers:  # keep stdout for the JSON only
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)

    specs = list(dict.fromkeys([args.reference] + args.solvers))
    cfgs = {spec: parse_solver_spec(spec) for spec in specs}
    rng = np.random.default_rng(args.seed)

    warm_A, warm_b = make_instance(np.random.default_rng(args.seed + 1), args)
    for spec in specs:  # compile / import outside the timed runs
        solve_lasso(warm_A, warm_b, args.lam, solver=cfgs[spec])

    times: Dict[str, List[float]] = {spec: [] for spec in specs}
    stats: Dict[str, Dict[str, Any]] = {
        spec:
        dict(
            nodes=0,
            near_ties_skipped=0,
            compared=0,
            support_equal=0,
            worst_relative_objective_gap=-np.inf,
            max_kkt_residual_over_lam=0.0,
            instances_all_supports_equal=0)
        for spec in specs if spec != args.reference
    }
    tiny = np.finfo(np.float64).tiny
    for _ in range(args.instances):
        As, bs = make_instance(rng, args)
        results = {}
        for repeat in range(args.repeats):
            # rotate the order so no solver always runs first
            shift = repeat % len(specs)
            for spec in specs[shift:] + specs[:shift]:
                start = time.perf_counter()
                zs = solve_lasso(As, bs, args.lam, solver=cfgs[spec])
                times[spec].append(time.perf_counter() - start)
                results[spec] = zs
        refs = results[args.reference]
        for spec, st in stats.items():
            all_equal = True
            for A, b, z, z_ref in zip(As, bs, results[spec], refs):
                st['nodes'] += 1
                f, f_ref = (
                    float(lasso_objective(A, b, x, args.lam))
                    for x in (z, z_ref))
                gap = (f - f_ref) / max(f_ref, tiny)
                st['worst_relative_objective_gap'] = max(
                    st['worst_relative_objective_gap'], gap)
                st['max_kkt_residual_over_lam'] = max(
                    st['max_kkt_residual_over_lam'],
                    float(kkt_residual(A, b, z, args.lam)) / args.lam)
                ref_support, largest, tie_gap = top_support(
                    z_ref, args.sparsity)
                if tie_gap <= args.tie_tol * largest:
                    st['near_ties_skipped'] += 1
                    continue
                st['compared'] += 1
                support, _, _ = top_support(z, args.sparsity)
                st['support_equal'] += support == ref_support
                all_equal &= support == ref_support
            st['instances_all_supports_equal'] += all_equal

    timing = {}
    for spec in specs:
        t = np.asarray(times[spec])
        timing[spec] = dict(
            median_s=float(np.median(t)),
            median_ms=float(np.median(t) * 1e3),
            p90_ms=float(np.percentile(t, 90) * 1e3),
            runs=int(t.size))
    for spec, st in stats.items():
        st['support_equal_rate'] = (
            st['support_equal'] / st['compared'] if st['compared'] else None)
        st['speedup_vs_reference'] = (
            timing[args.reference]['median_s'] / timing[spec]['median_s'])
    report = dict(
        config=dict(
            instances=args.instances,
            nodes_per_instance=2 * args.steps,
            node_shapes=[
                f'{args.proj_dim}x{(2 + j) * 7}' for j in range(args.steps)
            ] * 2,
            repeats=args.repeats,
            seed=args.seed,
            lam=args.lam,
            sparsity=args.sparsity,
            scale_range=args.scale_range,
            noise=args.noise,
            tie_tol=args.tie_tol,
            reference=args.reference,
            numpy=np.__version__),
        timing_per_full_recovery=timing,
        agreement_with_reference=stats)
    print(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
