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
from mmista.structures import CELL_TYPES, PUBLISHED_GENOTYPES, Genotype
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
