# Copyright (c) mmista contributors. All rights reserved.
"""How fast each node's recovered ``z`` settled during a search."""
from typing import Dict, List, Optional, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmista.structures import CELL_TYPES
from .figure_file import save_figure


def plot_z_convergence(history: Sequence[dict],
                       path: str,
                       threshold: Optional[float] = None,
                       terminated: Optional[Dict[str, List[int]]] = None
                       ) -> str:
    """Plots ``||z_t - z_{t-1}||`` of every node against the epoch.

    Args:
        history (Sequence[dict]): One record per recovery:
            ``dict(epoch=e, normal=[shift per node], reduce=[...])``;
            infinite or missing shifts (a node's first recovery, or a
            terminated node) are left out.
        path (str): The PNG file to write.
        threshold (float, optional): The termination threshold, drawn as a
            dashed line.
        terminated (dict[str, list[int]], optional): Per cell type, the
            epoch each node terminated at (-1: never), marked on its line.

    Returns:
        str: ``path``.
    """
    figure = Figure(figsize=(11, 4), dpi=100)
    FigureCanvasAgg(figure)
    for column, cell in enumerate(CELL_TYPES):
        axes = figure.add_subplot(1, len(CELL_TYPES), column + 1)
        nodes = max((len(r.get(cell, [])) for r in history), default=0)
        for node in range(nodes):
            points = [(r['epoch'], r[cell][node]) for r in history
                      if node < len(r.get(cell, []))
                      and r[cell][node] is not None
                      and 0 < r[cell][node] < float('inf')]
            if not points:
                continue
            line, = axes.plot(*zip(*points), marker='.', label=f'node {node}')
            stop = (terminated or {}).get(cell, [-1] * nodes)[node]
            if stop >= 0:
                axes.axvline(stop, color=line.get_color(), ls=':', lw=1)
        if threshold is not None:
            axes.axhline(threshold, color='k', ls='--', lw=1,
                         label=f'eps = {threshold:g}')
        axes.set_yscale('log')
        axes.set_xlabel('epoch')
        axes.set_ylabel('||z_t - z_(t-1)||')
        stops = (terminated or {}).get(cell, [])
        axes.set_title(f'{cell} cell' + (' (dotted: termination)' if any(
            stop >= 0 for stop in stops) else ''))
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7)
    figure.tight_layout()
    return save_figure(figure, path)
