# Copyright (c) mmista contributors. All rights reserved.
"""PNG drawings of searched cells, with matplotlib only (no graphviz)."""
import os.path as osp
from typing import Dict

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmista.structures import CANDIDATE_OPS, CELL_TYPES, Genotype
from .figure_file import save_figure

_COLOURS = dict(
    zip(CANDIDATE_OPS, ('#8c564b', '#e377c2', '#7f7f7f', '#1f77b4',
                        '#2ca02c', '#ff7f0e', '#d62728')))


def _node_positions(steps: int) -> Dict[int, tuple]:
    """Input nodes 0, 1 on the left, intermediate nodes in a rising
    zig-zag, the output (``-1``) on the right."""
    positions = {0: (0., 2.), 1: (0., -2.)}
    for j in range(steps):
        positions[2 + j] = (1.6 * (j + 1), 1.2 if j % 2 == 0 else -1.2)
    positions[-1] = (1.6 * (steps + 1), 0.)
    return positions


def drawn_content(genotype: Genotype, cell_type: str) -> tuple:
    """What :func:`draw_cell` draws of a cell type: two genotypes with the
    same content have the same drawing.

    Args:
        genotype (Genotype): The architecture.
        cell_type (str): ``'normal'`` or ``'reduce'``.

    Returns:
        tuple: The cell's ``(op, input)`` pairs, its concatenated nodes and
        the genotype's ``edges_per_node``.
    """
    return (tuple(map(tuple, getattr(genotype, cell_type))),
            tuple(getattr(genotype, f'{cell_type}_concat')),
            genotype.edges_per_node)


def draw_cell(genotype: Genotype, cell_type: str, path: str) -> str:
    """Draws one cell type of a genotype to a PNG file.

    Nodes: the two inputs ``c_{k-2}``, ``c_{k-1}``, the intermediate nodes
    0..steps-1 and the output ``c_{k}`` (concatenation); every edge is an
    arrow labelled and coloured by its op.

    Args:
        genotype (Genotype): The architecture.
        cell_type (str): ``'normal'`` or ``'reduce'``.
        path (str): The PNG file to write.

    Returns:
        str: ``path``.
    """
    if cell_type not in CELL_TYPES:
        raise ValueError(f'cell_type must be one of {CELL_TYPES}, got '
                         f'{cell_type!r}')
    edges = getattr(genotype, cell_type)
    concat = getattr(genotype, f'{cell_type}_concat')
    per_node = genotype.edges_per_node
    steps = len(edges) // per_node
    positions = _node_positions(steps)

    figure = Figure(figsize=(2.2 + 1.6 * steps, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_axis_off()
    for i, (op, source) in enumerate(edges):
        target = 2 + i // per_node
        start, end = positions[source], positions[target]
        bend = 0.25 if i % per_node else -0.25
        axes.annotate(
            '', xy=end, xytext=start,
            arrowprops=dict(arrowstyle='-|>', color=_COLOURS.get(op, 'k'),
                            lw=1.6, shrinkA=14, shrinkB=14,
                            connectionstyle=f'arc3,rad={bend}'))
        # The middle of matplotlib's arc3 curve (a quadratic Bezier whose
        # control point is offset by bend * (dy, -dx) from the chord's).
        dx, dy = end[0] - start[0], end[1] - start[1]
        mid_x = (start[0] + end[0]) / 2 + 0.5 * bend * dy
        mid_y = (start[1] + end[1]) / 2 - 0.5 * bend * dx
        axes.text(mid_x, mid_y, op, fontsize=7, ha='center', va='center',
                  color=_COLOURS.get(op, 'k'),
                  bbox=dict(boxstyle='round,pad=0.15', fc='white',
                            ec='none', alpha=0.85))
    for node in concat:
        axes.annotate(
            '', xy=positions[-1], xytext=positions[node],
            arrowprops=dict(arrowstyle='-|>', color='#bbbbbb', lw=1.0,
                            shrinkA=14, shrinkB=14))
    labels = {0: 'c_{k-2}', 1: 'c_{k-1}', -1: 'c_{k}'}
    for node, (x, y) in positions.items():
        label = labels.get(node, str(node - 2))
        colour = '#b3e5fc' if node in (0, 1) else (
            '#ffe0b2' if node == -1 else '#e0e0e0')
        axes.text(x, y, f'${label}$' if '_' in label else label,
                  ha='center', va='center', fontsize=10,
                  bbox=dict(boxstyle='circle,pad=0.35', fc=colour,
                            ec='#555555'))
    xs = [p[0] for p in positions.values()]
    axes.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    axes.set_ylim(-3., 3.)
    axes.set_aspect('equal')
    axes.set_title(f'{cell_type} cell', fontsize=11)
    figure.tight_layout()
    return save_figure(figure, path)


def draw_genotype(genotype: Genotype, stem: str) -> Dict[str, str]:
    """Draws both cell types: ``<stem>_normal.png`` and
    ``<stem>_reduce.png``.

    Args:
        genotype (Genotype): The architecture.
        stem (str): Path without the suffix, e.g. ``work_dir/genotype``.

    Returns:
        dict[str, str]: The PNG path of each cell type.
    """
    directory = osp.dirname(stem)
    if directory and not osp.isdir(directory):
        raise FileNotFoundError(f'no such directory: {directory}')
    return {
        cell: draw_cell(genotype, cell, f'{stem}_{cell}.png')
        for cell in CELL_TYPES
    }
