# Copyright (c) mmista contributors. All rights reserved.
"""How well a latency table predicts whole networks, and its correction.

See docs/en/user_guides/latency_budget.md.

A table is checked on networks it was not built from: random genotypes of
the search space and the published cells, each predicted by the table and
measured whole on the table's device. The figures are Spearman's rank
correlation (does the table order networks as the device does), the mean
absolute percentage error and the worst network. A table whose ops were
timed alone can be off by a factor (an op inside a network runs with warm
caches and without a call of its own); :func:`fit_correction` fits that
factor and a fixed part by least squares on half of the measured networks
and is judged on the other half.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmista.architecture import LatencyTable, Timing, edges_of_genotype
from mmista.evaluation import spearman_rho
from mmista.structures import (CANDIDATE_OPS, CELL_TYPES, NUM_OPS,
                               PUBLISHED_GENOTYPES, Genotype)
from .random_genotypes import sample_genotype


@dataclass
class CheckedNetwork:
    """One network's predicted and measured latency.

    Attributes:
        name (str): ``random 3`` or the published cell's name.
        genotype (Genotype): Its cells.
        predicted_ms (float): What the table predicts.
        measured (Timing): What the device took, whole.
        held_out (bool): Whether a correction was judged on it (else fitted
            on it).
    """

    name: str
    genotype: Genotype
    predicted_ms: float
    measured: Timing
    held_out: bool = False

    @property
    def error_percent(self) -> float:
        """``100 * (predicted - measured) / measured``."""
        return 100. * (self.predicted_ms -
                       self.measured.median_ms) / self.measured.median_ms


def check_genotypes(
        random: int,
        seed: int,
        steps: int,
        sparsity: int,
        published: Optional[Dict[str, Genotype]] = None
) -> List[Tuple[str, Genotype]]:
    """The networks to check a table on: ``random`` uniform draws of the
    space (seeded by ``seed``) and the published cells of the same space.

    Args:
        random (int): How many random genotypes.
        seed (int): Their seed.
        steps (int): Intermediate nodes per cell.
        sparsity (int): Edges per node.
        published (dict[str, Genotype], optional): Named cells; those of
            another shape (steps or edges per node) are left out. Defaults
            to the published cells of the DARTS space
            (:data:`~mmista.structures.PUBLISHED_GENOTYPES`).

    Returns:
        list[tuple[str, Genotype]]: Named genotypes.
    """
    if published is None:
        published = PUBLISHED_GENOTYPES
    rng = np.random.default_rng(seed)
    concat = list(range(2, steps + 2))
    drawn = [(f'random {k}',
              sample_genotype(rng, steps, sparsity, concat, concat))
             for k in range(random)]
    fitting = [(name, genotype) for name, genotype in published.items()
               if genotype.steps == steps
               and genotype.edges_per_node == sparsity]
    return drawn + fitting


def prediction_errors(networks: Sequence[CheckedNetwork],
                      predicted: Optional[Sequence[float]] = None) -> Dict:
    """Spearman's rho, the mean absolute percentage error and the worst
    network.

    Args:
        networks (Sequence[CheckedNetwork]): At least two.
        predicted (Sequence[float], optional): Predictions to judge instead
            of the networks' own (a corrected table's).

    Returns:
        dict: ``n``, ``spearman``, ``mape`` (%), ``worst`` (``name``,
        ``predicted_ms``, ``measured_ms``, ``error_percent``).
    """
    if predicted is None:
        predicted = [n.predicted_ms for n in networks]
    measured = [n.measured.median_ms for n in networks]
    errors = [
        100. * (p - m) / m for p, m in zip(predicted, measured)
    ]
    worst = int(np.argmax(np.abs(errors)))
    return dict(
        n=len(networks),
        spearman=spearman_rho(predicted, measured),
        mape=float(np.mean(np.abs(errors))),
        worst=dict(
            name=networks[worst].name,
            predicted_ms=float(predicted[worst]),
            measured_ms=measured[worst],
            error_percent=errors[worst]))


def fit_correction(table: LatencyTable,
                   networks: Sequence[CheckedNetwork]) -> LatencyTable:
    """A table corrected on measured networks.

    The model is ``measured = a + b * edges``, where ``edges`` is the
    table's edge sum for the network: ``b`` scales every edge entry (ops
    timed alone against inside a network) and ``a`` replaces the fixed
    part. Both come from least squares on the networks that are not held
    out, so the networks held out judge the correction.

    Args:
        table (LatencyTable): The table to correct.
        networks (Sequence[CheckedNetwork]): Measured networks; at least
            two not held out, with different edge sums.

    Returns:
        LatencyTable: Fixed part ``a``, every edge entry times ``b``
        (statistics scaled alike), method ``'<method>+least_squares'``; the
        fit is in its notes.

    Raises:
        ValueError: Fewer than two fitting networks, or equal edge sums.
    """
    fitted = [n for n in networks if not n.held_out]
    if len(fitted) < 2:
        raise ValueError(f'a correction needs at least two fitted networks, '
                         f'got {len(fitted)}')
    sums = np.array([
        table.predict(edges_of_genotype(n.genotype)) - table.fixed.median_ms
        for n in fitted
    ])
    if np.ptp(sums) == 0:
        raise ValueError('the fitted networks all have the same edge sum')
    measured = np.array([n.measured.median_ms for n in fitted])
    design = np.stack([np.ones_like(sums), sums], axis=1)
    (offset, scale), *_ = np.linalg.lstsq(design, measured, rcond=None)
    residual = measured - design @ np.array([offset, scale])
    edges = {
        cell: {key: _scaled(timing, scale)
               for key, timing in table.edges[cell].items()}
        for cell in CELL_TYPES
    }
    fixed = Timing(
        float(offset), float(offset), float(residual.std(ddof=1)),
        len(fitted))
    notes = dict(table.notes)
    notes['least_squares'] = dict(
        offset_ms=float(offset),
        scale=float(scale),
        networks=[n.name for n in fitted],
        residual_std_ms=float(residual.std(ddof=1)))
    return LatencyTable(
        device=table.device,
        network=table.network,
        input_shape=table.input_shape,
        fixed=fixed,
        edges=edges,
        method=f'{table.method}+least_squares',
        notes=notes)


def _scaled(timing: Timing, scale: float) -> Timing:
    """A timing's statistics times ``scale``."""
    return Timing(timing.median_ms * scale, timing.mean_ms * scale,
                  timing.std_ms * abs(scale), timing.count)


#: The ridge weights :func:`fit_edge_correction` chooses from, relative to
#: the mean squared edge count of the fitted networks.
RIDGES = tuple(np.logspace(-3, 3, 13))


def edge_counts(genotype: Genotype) -> np.ndarray:
    """A network's design row for per-edge least squares: 1 (the fixed
    part), then per cell type, op and source how many edges it has."""
    row = np.zeros(1 + len(CELL_TYPES) * NUM_OPS * 2)
    row[0] = 1.
    for c, (cell, edges) in enumerate(edges_of_genotype(genotype).items()):
        for op, source in edges:
            row[1 + (c * NUM_OPS + CANDIDATE_OPS.index(op)) * 2 + source] += 1
    return row


def _table_vector(table: LatencyTable) -> np.ndarray:
    """The table's entries in the order of :func:`edge_counts`."""
    return np.concatenate([[table.fixed.median_ms]] + [
        table.edge_array(cell).reshape(-1) for cell in CELL_TYPES
    ])


def fit_edge_correction(table: LatencyTable,
                        networks: Sequence[CheckedNetwork],
                        ridges: Sequence[float] = RIDGES) -> LatencyTable:
    """A table whose every entry is refitted on measured networks.

    The model is the table's own, ``measured = fixed + sum of the
    network's edge entries``, with every entry (the fixed part and each
    cell type's op and source) a free parameter: ridge least squares on
    the networks that are not held out, pulled towards the table's values
    (so entries the networks say little about keep them), the ridge weight
    chosen by leave-one-out error among ``ridges``. Entries are kept at
    zero or above.

    Args:
        table (LatencyTable): The table to correct.
        networks (Sequence[CheckedNetwork]): Measured networks; at least
            two not held out.
        ridges (Sequence[float]): Ridge weights to choose from, relative to
            the fitted networks' mean squared edge count.

    Returns:
        LatencyTable: The refitted entries (their statistics' spread and
        counts kept), method ``'<method>+edge_least_squares'``; the fit is
        in its notes.

    Raises:
        ValueError: Fewer than two fitting networks.
    """
    fitted = [n for n in networks if not n.held_out]
    if len(fitted) < 2:
        raise ValueError(f'a correction needs at least two fitted networks, '
                         f'got {len(fitted)}')
    design = np.stack([edge_counts(n.genotype) for n in fitted])
    measured = np.array([n.measured.median_ms for n in fitted])
    prior = _table_vector(table)
    residual = measured - design @ prior
    gram = design.T @ design
    unit = float(np.mean(np.sum(design**2, axis=1)))
    best = None
    for ridge in ridges:
        inverse = np.linalg.inv(gram + ridge * unit * np.eye(len(prior)))
        delta = inverse @ design.T @ residual
        leverage = np.einsum('ij,jk,ik->i', design, inverse, design)
        loo = (residual - design @ delta) / (1. - leverage)
        error = float(np.mean(np.abs(loo) / measured)) * 100.
        if best is None or error < best[0]:
            best = (error, float(ridge), delta)
    error, ridge, delta = best
    entries = np.maximum(prior + delta, 0.)
    flat = iter(entries[1:])
    edges = {
        cell: {(op, s): _valued(table.edges[cell][(op, s)], next(flat))
               for op in CANDIDATE_OPS for s in (0, 1)}
        for cell in CELL_TYPES
    }
    notes = dict(table.notes)
    notes['edge_least_squares'] = dict(
        ridge=ridge,
        leave_one_out_mape=error,
        networks=[n.name for n in fitted])
    return LatencyTable(
        device=table.device,
        network=table.network,
        input_shape=table.input_shape,
        fixed=_valued(table.fixed, float(entries[0])),
        edges=edges,
        method=f'{table.method}+edge_least_squares',
        notes=notes)


def _valued(timing: Timing, median_ms: float) -> Timing:
    """A timing with another median (and mean), its spread and count
    kept."""
    return Timing(float(median_ms), float(median_ms), timing.std_ms,
                  timing.count)
