# Copyright (c) mmista contributors. All rights reserved.
"""Build a derived network's latency table on this machine.

``python tools/analysis_tools/latency_table.py CONFIG --out TABLE`` times
the derived network of CONFIG (a ``configs/nets`` config or an export
folder's ``config.py``; for a one-stage search config, the network its
export builds) with ``--runtime`` on ``--device``: every op of every cell
alone at the input it gets in the network, and whole networks for the
fixed part. It prints the table (median ± standard deviation in
milliseconds) and writes TABLE, which ``latency_check.py`` checks against
whole networks and a latency budget reads.
"""
import argparse
import sys
import time

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis.edge_costs import derived_backbone
from mmista.analysis.latency_measurement import (build_latency_table,
                                                 derived_network_cfg)
from mmista.architecture import LatencyTable, Timing
from mmista.architecture.latency_table import DEVICES, RUNTIMES
from mmista.cli import (add_cfg_options, fit_head_to_backbone, load_config,
                        reported_errors)
from mmista.errors import UserError
from mmista.structures import CANDIDATE_OPS, CELL_TYPES


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'config', help='a derived network\'s config (configs/nets/*.py or an '
        'export folder\'s config.py), or a one-stage search config')
    parser.add_argument('--out', required=True, help='the table file (JSON)')
    parser.add_argument(
        '--runtime', choices=RUNTIMES, default='onnxruntime',
        help='what runs the network (onnxruntime)')
    parser.add_argument(
        '--device', choices=DEVICES, default='cpu', help='cpu or cuda (cpu)')
    parser.add_argument(
        '--threads', type=int, default=1, help='intra-op threads (1)')
    parser.add_argument(
        '--batch', type=int, default=1, help='images per forward (1)')
    parser.add_argument(
        '--warmup', type=int, default=5, help='untimed runs per timing (5)')
    parser.add_argument(
        '--repeats', type=int, default=20, help='timed runs per timing (20)')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs='+',
        help='input height [width]; defaults to 224 for the ImageNet stem '
        'and 32 otherwise')
    add_cfg_options(parser)
    return parser.parse_args()


def timing_text(timing: Timing) -> str:
    """``1.234 ± 0.010``."""
    return f'{timing.median_ms:8.3f} ± {timing.std_ms:6.3f}'


def print_table(table: LatencyTable) -> None:
    """The device, the fixed part and every entry, in milliseconds."""
    print(f'{table.network}, input {list(table.input_shape)}')
    print(f'measured with {table.device.describe()}')
    print(f'fixed part: {timing_text(table.fixed)} ms (median ± std)')
    for cell in CELL_TYPES:
        print(f'{cell} cells, ms per edge of every {cell} cell '
              '(from a cell input | from a node):')
        for op in CANDIDATE_OPS:
            print(f'  {op:>14}: {timing_text(table.edges[cell][(op, 0)])} | '
                  f'{timing_text(table.edges[cell][(op, 1)])}')


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    with reported_errors():
        if args.threads < 1 or args.batch < 1 or args.warmup < 0 \
                or args.repeats < 1:
            raise UserError('--threads, --batch and --repeats must be >= 1 '
                            'and --warmup >= 0')
        model_cfg = derived_network_cfg(cfg)
        derived_backbone(model_cfg, 'a latency table')
        cfg.model = model_cfg
        for change in fit_head_to_backbone(cfg):
            print(change, file=sys.stderr)
        start = time.perf_counter()
        table = build_latency_table(
            cfg.model.to_dict(),
            runtime=args.runtime,
            device=args.device,
            threads=args.threads,
            batch=args.batch,
            warmup=args.warmup,
            repeats=args.repeats,
            shape=args.input_size)
        print_table(table)
        table.save(args.out)
        print(f'latency table written to {args.out} '
              f'({time.perf_counter() - start:.1f} s)')
        for doubt in table.doubts():
            print(f'warning: {doubt}', file=sys.stderr)


if __name__ == '__main__':
    main()
