# Copyright (c) mmista contributors. All rights reserved.
import numpy as np
import pytest

from mmista.analysis.latency_validation import (CheckedNetwork,
                                                check_genotypes,
                                                fit_correction,
                                                prediction_errors)
from mmista.architecture import (DeviceRecord, LatencyTable, Timing,
                                 edges_of_genotype)
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, PUBLISHED_GENOTYPES


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
