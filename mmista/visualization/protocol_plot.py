# Copyright (c) mmista contributors. All rights reserved.
"""Accuracy against parameters of a search protocol's genotypes."""
import math
from typing import Dict, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .figure_file import save_figure

#: The marker colour and label of each method.
STYLES = {
    'ista': ('tab:blue', 'ISTA-NAS'),
    'random': ('tab:orange', 'random'),
}


def plot_accuracy_vs_params(genotypes: Dict[str, Sequence[Dict]], path: str,
                            metric: str = 'accuracy/top1') -> str:
    """Plots each genotype's retrained accuracy against its parameters.

    One marker per genotype at its mean accuracy, with a bar of ± one
    standard deviation over its retrains; one colour per method.

    Args:
        genotypes (dict[str, Sequence[dict]]): Per method (``'ista'``,
            ``'random'``), the genotypes' ``params``, ``mean`` and ``std``
            (:func:`~mmista.analysis.protocol_report.genotype_means`);
            those without a finite parameter count are left out.
        path (str): The PNG file to write.
        metric (str): The accuracy's name, for the axis.

    Returns:
        str: ``path``.
    """
    figure = Figure(figsize=(5.5, 4), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for method, items in genotypes.items():
        items = [g for g in items if g.get('params') is not None
                 and math.isfinite(g['params'])]
        if not items:
            continue
        colour, label = STYLES.get(method, (None, method))
        axes.errorbar([g['params'] / 1e6 for g in items],
                      [g['mean'] for g in items],
                      yerr=[g['std'] for g in items],
                      fmt='o',
                      capsize=3,
                      color=colour,
                      label=f'{label} ({len(items)})')
    axes.set_xlabel('parameters (M)')
    axes.set_ylabel(f'retrained {metric} (%)')
    axes.set_title('Retrained accuracy against size (mean ± std)')
    axes.grid(alpha=0.3)
    if axes.has_data():
        axes.legend()
    figure.tight_layout()
    return save_figure(figure, path)
