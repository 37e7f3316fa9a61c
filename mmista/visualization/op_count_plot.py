# Copyright (c) mmista contributors. All rights reserved.
"""Which kinds of operation a search's genotypes kept, recovery by
recovery: a collapse to parameter-free ops shows as growing skip and pool
bars."""
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mmista.structures import CELL_TYPES, OP_GROUPS, group_op_counts
from .figure_file import save_figure


def plot_op_counts(history: Sequence[dict], path: str) -> str:
    """Plots each op group's edge count against the epoch, per cell type:
    one bar per recovery, stacked from the parameter-free groups (skip,
    pool) up.

    Args:
        history (Sequence[dict]): One record per recovery:
            ``dict(epoch=e, normal={op: count}, reduce={op: count})`` (see
            :func:`~mmista.structures.count_ops`); a record without a cell
            type is left out of that cell's panel.
        path (str): The PNG file to write.

    Returns:
        str: ``path``.
    """
    figure = Figure(figsize=(11, 4), dpi=100)
    FigureCanvasAgg(figure)
    for column, cell in enumerate(CELL_TYPES):
        axes = figure.add_subplot(1, len(CELL_TYPES), column + 1)
        records = [r for r in history if isinstance(r.get(cell), dict)]
        epochs = [r['epoch'] for r in records]
        gaps = [b - a for a, b in zip(epochs, epochs[1:]) if b > a]
        width = 0.8 * min(gaps, default=1)
        bottom = [0] * len(records)
        for index, group in enumerate(OP_GROUPS):
            counts = [group_op_counts({cell: r[cell]})[cell][group]
                      for r in records]
            if any(counts):
                axes.bar(epochs, counts, width, bottom=bottom,
                         color=f'C{index}', label=group)
            bottom = [b + c for b, c in zip(bottom, counts)]
        top = max(bottom, default=0)
        axes.set_ylim(0, top + max(1, 0.3 * top))  # room for the legend
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(epochs) <= 12:
            axes.set_xticks(epochs)
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel('epoch')
        axes.set_ylabel('edges')
        axes.set_title(f'{cell} cell: ops of the recovered genotype')
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=7, loc='upper left', ncol=len(OP_GROUPS))
    figure.tight_layout()
    return save_figure(figure, path)
