# Copyright (c) mmista contributors. All rights reserved.
from .cell_drawing import draw_cell, draw_genotype, drawn_content
from .convergence_plot import plot_z_convergence
from .latency_plot import plot_latency_check
from .op_count_plot import plot_op_counts

__all__ = [
    'draw_cell', 'draw_genotype', 'drawn_content', 'plot_latency_check',
    'plot_op_counts',
    'plot_z_convergence'
]
