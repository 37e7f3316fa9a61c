# Copyright (c) mmista contributors. All rights reserved.
import json

import numpy as np
import pytest

from mmista.analysis.latency_timing import this_device
from mmista.analysis.latency_validation import (CheckedNetwork,
                                                check_genotypes,
                                                fit_correction,
                                                prediction_errors)
from mmista.architecture import (DeviceRecord, LatencyTable, Timing,
                                 edges_of_genotype)
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, PUBLISHED_GENOTYPES
from ..utils import run_tool


def make_table(fixed=2.0) -> LatencyTable:
    """A table whose ops cost their index (plus a source term)."""
    edges = {
        cell: {(op, source): Timing.of([0.1 * (i + 1) + 0.05 * source
                                        + 0.2 * (cell == 'reduce')] * 3)
               for i, op in enumerate(CANDIDATE_OPS) for source in (0, 1)}
        for cell in CELL_TYPES
    }
    return LatencyTable(
        DeviceRecord('onnxruntime', 'cpu', 'test cpu', 1, 1), 'net',
        (1, 3, 32, 32), Timing.of([fixed]), edges)


def networks_measured_as(table, offset, scale, count=12, noise=0.):
    """Random networks whose 'measurement' is offset + scale * edges."""
    rng = np.random.default_rng(0)
    result = []
    for i, (name, genotype) in enumerate(
            check_genotypes(count, 0, 4, 2, {})):
        edges = table.predict(edges_of_genotype(genotype)) - \
            table.fixed.median_ms
        measured = offset + scale * edges + noise * rng.normal()
        result.append(
            CheckedNetwork(name, genotype,
                           table.predict(edges_of_genotype(genotype)),
                           Timing.of([measured]), held_out=i % 2 == 1))
    return result


def test_the_correction_recovers_an_affine_relation():
    table = make_table()
    networks = networks_measured_as(table, offset=1.5, scale=1.3)
    corrected = fit_correction(table, networks)
    fit = corrected.notes['least_squares']
    assert fit['offset_ms'] == pytest.approx(1.5)
    assert fit['scale'] == pytest.approx(1.3)
    assert corrected.method == 'ops+least_squares'
    assert fit['networks'] == [n.name for n in networks if not n.held_out]
    for network in networks:  # exact on every network, held out too
        assert corrected.predict(edges_of_genotype(
            network.genotype)) == pytest.approx(network.measured.median_ms)
    # the additive table was off by the factor
    errors = prediction_errors(networks)
    assert errors['mape'] > 5
    assert errors['spearman'] == pytest.approx(1.)


def test_prediction_errors_name_the_worst_network():
    table = make_table()
    networks = networks_measured_as(table, 0., 1., count=4)
    networks[2].measured = Timing.of([networks[2].predicted_ms / 2])
    figures = prediction_errors(networks)
    assert figures['worst']['name'] == networks[2].name
    assert figures['worst']['error_percent'] == pytest.approx(100.)
    assert figures['n'] == 4


def test_a_correction_needs_two_fitted_networks():
    table = make_table()
    networks = networks_measured_as(table, 0., 1., count=2)
    with pytest.raises(ValueError, match='two fitted'):
        fit_correction(table, networks)


def test_published_cells_are_checked_too():
    names = [name for name, _ in check_genotypes(3, 1, 4, 2)]
    assert names[:3] == ['random 0', 'random 1', 'random 2']
    assert names[3:] == list(PUBLISHED_GENOTYPES) and len(names) == 8
    # another space's shape leaves them out
    assert len(check_genotypes(2, 1, 3, 2)) == 2
    assert len(check_genotypes(2, 1, 4, 2, {})) == 2


TINY = [
    'model.backbone.channels=4', 'model.backbone.layers=3',
    'model.head.in_channels=64', 'model.head.aux_in_channels=64'
]


def test_check_tool_as_a_user_types_it(tmp_path):
    """Build a table, check it on 3 random and the published cells; the
    figures, the files and the corrected table come out."""
    table_file = tmp_path / 'table.json'
    run_tool('tools/analysis_tools/latency_table.py', 'configs/nets/'
             'ista_onestage_digits.py', '--out', str(table_file),
             '--runtime', 'pytorch', '--warmup', '1', '--repeats', '3',
             '--input-size', '16', '--cfg-options', *TINY)
    out = tmp_path / 'check'
    proc = run_tool('tools/analysis_tools/latency_check.py',
                    'configs/nets/ista_onestage_digits.py', '--table',
                    str(table_file), '--random', '3', '--warmup', '1',
                    '--repeats', '3', '--out-dir', str(out), '--corrected',
                    str(tmp_path / 'corrected.json'), '--cfg-options', *TINY)
    assert 'additive table, all (8 networks): Spearman' in proc.stdout
    assert 'affine corrected table, held out (4 networks)' in proc.stdout
    assert 'per-edge corrected table, held out (4 networks)' in proc.stdout
    result = json.loads((out / 'latency_check.json').read_text())
    assert [n['name'] for n in result['networks']][:3] == [
        'random 0', 'random 1', 'random 2'
    ]
    assert all(n['measured']['count'] == 3 for n in result['networks'])
    assert (out / 'latency_check.png').stat().st_size > 10_000
    # the written correction is the one of the lower held-out MAPE, and
    # the networks' corrected_ms are its predictions
    figures = result['figures']
    chosen = figures['chosen_correction']
    others = {'affine', 'per_edge'} - {chosen}
    assert figures[f'{chosen}_held_out']['mape'] <= min(
        figures[f'{c}_held_out']['mape'] for c in others)
    corrected = LatencyTable.load(str(tmp_path / 'corrected.json'))
    assert corrected.method == {
        'affine': 'ops+least_squares',
        'per_edge': 'ops+edge_least_squares'
    }[chosen]
    assert f'corrected table ({chosen.replace("_", "-")}' in proc.stdout
    held = [n for n in result['networks'] if n['held_out']]
    assert figures[f'{chosen}_held_out']['mape'] == pytest.approx(
        np.mean([
            abs(100 * (n['corrected_ms'] - n['measured']['median_ms']) /
                n['measured']['median_ms']) for n in held
        ]))


@pytest.mark.parametrize('change, message', [
    (dict(processor='another cpu'), 'measured with'),
    (dict(network='DerivedNet(stem=cifar, channels=4, layers=3) at 16x16'),
     'was built for'),
])
def test_check_tool_refuses_a_table_that_does_not_fit(tmp_path, change,
                                                      message):
    data = make_table().to_dict()
    here = this_device('pytorch', 'cpu', 1, 1)
    data['device'] = dict(vars(here), **{
        key: value
        for key, value in change.items() if key in vars(here)
    })
    data['network'] = change.get(
        'network',
        'DerivedNet(stem=cifar, channels=4, layers=3, bn_append) at 16x16')
    data['input_shape'] = [1, 3, 16, 16]
    table_file = tmp_path / 'table.json'
    table_file.write_text(json.dumps(data))
    proc = run_tool('tools/analysis_tools/latency_check.py',
                    'configs/nets/ista_onestage_digits.py', '--table',
                    str(table_file), '--random', '3', '--cfg-options', *TINY,
                    check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith('error: ') and message in lines[-1]
    assert 'Traceback' not in proc.stderr


def test_the_per_edge_correction_learns_entries_the_table_got_wrong():
    """Networks measured with a true table that differs from the built one
    in two entries: the per-edge fit moves the held-out predictions
    towards the truth, and an exact table is left (nearly) as it is."""
    import dataclasses

    from mmista.analysis.latency_validation import fit_edge_correction
    built = make_table()
    truth = make_table(fixed=1.0)
    truth.edges['normal'][('sep_conv_3x3', 0)] = Timing.of([0.9] * 3)
    truth.edges['reduce'][('max_pool_3x3', 1)] = Timing.of([0.05] * 3)
    networks = []
    for i, (name, genotype) in enumerate(check_genotypes(80, 1, 4, 2, {})):
        edges = edges_of_genotype(genotype)
        networks.append(
            CheckedNetwork(name, genotype, built.predict(edges),
                           Timing.of([truth.predict(edges)]),
                           held_out=i % 2 == 1))
    corrected = fit_edge_correction(built, networks)
    assert corrected.method == 'ops+edge_least_squares'
    assert corrected.notes['edge_least_squares']['ridge'] > 0
    held = [n for n in networks if n.held_out]
    before = prediction_errors(held)['mape']
    after = prediction_errors(held, [
        corrected.predict(edges_of_genotype(n.genotype)) for n in held
    ])['mape']
    assert after < before / 3
    # (every network has 8 edges per cell type, so the fixed part and a
    # shift of a cell type's entries are one direction: only predictions
    # are identified, not each entry)
    assert all(t.median_ms >= 0 for cell in CELL_TYPES
               for t in corrected.edges[cell].values())
    # measured as the table predicts: the entries stay where they were
    exact = [dataclasses.replace(n, measured=Timing.of([n.predicted_ms]))
             for n in networks]
    kept = fit_edge_correction(built, exact)
    assert kept.fixed.median_ms == pytest.approx(built.fixed.median_ms,
                                                 abs=1e-6)


def test_interleaved_timings_take_every_run_in_rounds():
    """Each timer runs warm-up, then one untimed run and a chunk per round,
    in an order that rotates; every timed run is counted."""
    from mmista.analysis.latency_timing import interleaved_timings
    calls = []

    def timer(name, value):
        def run():
            calls.append(name)
            return value
        return run

    timings = interleaved_timings([timer('a', 1.), timer('b', 2.)],
                                  warmup=1, repeats=7, rounds=3)
    assert [t.count for t in timings] == [7, 7]
    assert [t.median_ms for t in timings] == [1., 2.]
    # warm-up a, b; round 0: a (1 + 3), b (1 + 3); round 1 starts with b
    assert calls[:10] == ['a', 'b'] + ['a'] * 4 + ['b'] * 4
    assert calls[10] == 'b'
    assert len(calls) == 2 * (1 + 3 + 7)
