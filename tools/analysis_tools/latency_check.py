# Copyright (c) mmista contributors. All rights reserved.
"""Check a latency table's predictions against whole-network measurements.

``python tools/analysis_tools/latency_check.py CONFIG --table TABLE``
predicts, with the table built by ``latency_table.py`` for the derived
network of CONFIG, the latency of ``--random`` random genotypes of the
search space and of the published cells, measures each network whole on
this machine with the table's runtime, threads and batch (a table from
another device is refused), and prints Spearman's rank correlation, the
mean absolute percentage error and the worst network. Two corrections are
fitted on every other network and judged on the rest: an affine one
(``measured = a + b * edges``, least squares) and a per-edge one (every
entry refitted by ridge least squares towards the table's values);
``--corrected FILE`` writes the one with the lower held-out error. The
networks are measured in turn, in rounds, so that the machine's drift
falls on all of them alike. ``--out-dir`` receives ``latency_check.json``
(every network and the figures) and ``latency_check.png`` (predicted
against measured).
"""
import argparse
import json
import os.path as osp
import sys
import time

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis.edge_costs import (derived_backbone, network_description,
                                        with_genotype)
from mmista.analysis.latency_measurement import derived_network_cfg
from mmista.analysis.latency_timing import measure_networks, this_device
from mmista.analysis.latency_validation import (CheckedNetwork,
                                                check_genotypes,
                                                fit_correction,
                                                fit_edge_correction,
                                                prediction_errors)
from mmista.architecture import LatencyTable, edges_of_genotype
from mmista.cli import (add_cfg_options, fit_head_to_backbone, load_config,
                        reported_errors)
from mmista.errors import UserError
from mmista.fileio import atomic_write_text
from mmista.visualization import plot_latency_check


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'config', help='the config the table was built from (a derived '
        'network\'s, an export\'s or a one-stage search config)')
    parser.add_argument('--table', required=True, help='the latency table')
    parser.add_argument(
        '--random', type=int, default=20, help='random genotypes (20)')
    parser.add_argument(
        '--seed', type=int, default=0, help='their seed (0)')
    parser.add_argument(
        '--no-published',
        action='store_true',
        help='leave out the published cells')
    parser.add_argument(
        '--warmup', type=int, default=5, help='untimed runs per network')
    parser.add_argument(
        '--repeats', type=int, default=20, help='timed runs per network')
    parser.add_argument(
        '--out-dir', help='where latency_check.json and .png go')
    parser.add_argument(
        '--corrected', help='write the corrected table to this file')
    add_cfg_options(parser)
    return parser.parse_args()


def measure(model_cfg: dict, table: LatencyTable, genotypes, warmup: int,
            repeats: int) -> list:
    """Predicts and measures every genotype, all networks in turn (so that
    the machine's drift falls on all alike); every other one (from the
    second) is held out from the correction."""
    device = table.device
    start = time.perf_counter()
    timings = measure_networks(
        [with_genotype(model_cfg, genotype) for _, genotype in genotypes],
        runtime=device.runtime,
        device=device.device,
        threads=device.threads,
        batch=device.batch,
        warmup=warmup,
        repeats=repeats,
        shape=list(table.input_shape[2:]))
    networks = []
    for i, ((name, genotype), measured) in enumerate(zip(genotypes,
                                                         timings)):
        network = CheckedNetwork(
            name, genotype, table.predict(edges_of_genotype(genotype)),
            measured, held_out=i % 2 == 1)
        networks.append(network)
        print(f'{name:>32}: predicted {network.predicted_ms:8.3f} ms, '
              f'measured {measured.median_ms:8.3f} ± {measured.std_ms:.3f} '
              f'ms ({network.error_percent:+.1f}%)')
    print(f'{len(networks)} networks measured in '
          f'{time.perf_counter() - start:.1f} s', flush=True)
    return networks


def summary_line(label: str, figures: dict) -> str:
    """``additive, all 25: Spearman 0.95, MAPE 4.1%, worst ...``."""
    worst = figures['worst']
    return (f'{label} ({figures["n"]} networks): Spearman '
            f'{figures["spearman"]:.3f}, MAPE {figures["mape"]:.1f}%, worst '
            f'{worst["name"]} {worst["error_percent"]:+.1f}% (predicted '
            f'{worst["predicted_ms"]:.3f} ms, measured '
            f'{worst["measured_ms"]:.3f} ms)')


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    with reported_errors():
        if args.random < 0 or args.warmup < 0 or args.repeats < 1:
            raise UserError('--random and --warmup must be >= 0 and '
                            '--repeats >= 1')
        table = LatencyTable.load(args.table)
        device = table.device
        table.check_device(
            this_device(device.runtime, device.device, device.threads,
                        device.batch), 'latency_check.py')
        cfg.model = derived_network_cfg(cfg)
        derived_backbone(cfg.model.to_dict(), 'a latency check')
        for change in fit_head_to_backbone(cfg):
            print(change, file=sys.stderr)
        model_cfg = cfg.model.to_dict()
        network = network_description(model_cfg, table.input_shape)
        if network != table.network:
            raise UserError(
                f'the latency table {args.table} was built for '
                f'{table.network}, CONFIG builds {network}; give the '
                'config the table was built from (with the same '
                '--cfg-options)')
        backbone = model_cfg['backbone']
        published = {} if args.no_published else None
        genotypes = check_genotypes(args.random, args.seed,
                                    backbone.get('steps', 4),
                                    backbone.get('edges_per_node', 2),
                                    published)
        if len(genotypes) < 4:
            raise UserError(f'{len(genotypes)} networks to check: give '
                            '--random 4 or more')
        print(f'checking {table.network} with {device.describe()}')
        networks = measure(model_cfg, table, genotypes, args.warmup,
                           args.repeats)
        held = [i for i, n in enumerate(networks) if n.held_out]
        held_networks = [networks[i] for i in held]
        figures = dict(
            additive=prediction_errors(networks),
            additive_held_out=prediction_errors(held_networks))
        print(summary_line('additive table, all', figures['additive']))
        print(summary_line('additive table, held out',
                           figures['additive_held_out']))
        corrections = {}
        for label, fit, notes in (
                ('affine', fit_correction, 'least_squares'),
                ('per_edge', fit_edge_correction, 'edge_least_squares')):
            fitted = fit(table, networks)
            predicted = [
                fitted.predict(edges_of_genotype(n.genotype))
                for n in networks
            ]
            figures[f'{label}_held_out'] = prediction_errors(
                held_networks, [predicted[i] for i in held])
            figures[f'{label}_fit'] = fitted.notes[notes]
            corrections[label] = (fitted, predicted)
            print(summary_line(f'{label.replace("_", "-")} corrected table, '
                               'held out', figures[f'{label}_held_out']))
        chosen = min(corrections,
                     key=lambda c: figures[f'{c}_held_out']['mape'])
        figures['chosen_correction'] = chosen
        corrected, corrected_ms = corrections[chosen]
        if args.corrected:
            corrected.save(args.corrected)
            print(f'corrected table ({chosen.replace("_", "-")}, the lower '
                  f'held-out MAPE) written to {args.corrected}')
        if args.out_dir:
            write_results(args.out_dir, table, networks, corrected_ms,
                          figures)


def write_results(out_dir: str, table: LatencyTable, networks: list,
                  corrected_ms: list, figures: dict) -> None:
    """Writes ``latency_check.json`` and ``latency_check.png``."""
    rows = [
        dict(
            name=n.name,
            genotype=n.genotype.to_dict(),
            predicted_ms=n.predicted_ms,
            corrected_ms=c,
            measured=vars(n.measured),
            held_out=n.held_out) for n, c in zip(networks, corrected_ms)
    ]
    atomic_write_text(
        osp.join(out_dir, 'latency_check.json'),
        json.dumps(
            dict(
                network=table.network,
                device=vars(table.device),
                figures=figures,
                networks=rows),
            indent=2) + '\n')
    plot_latency_check([n.measured.median_ms for n in networks],
                       [n.predicted_ms for n in networks],
                       osp.join(out_dir, 'latency_check.png'),
                       f'{table.network}\n{table.device.describe()}',
                       corrected_ms, [n.held_out for n in networks])
    print(f'results written to {out_dir}')


if __name__ == '__main__':
    main()
