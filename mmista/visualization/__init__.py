# Copyright (c) mmista contributors. All rights reserved.
from .cell_drawing import draw_cell, draw_genotype, drawn_content
from .convergence_plot import plot_z_convergence

__all__ = [
    'draw_cell', 'draw_genotype', 'drawn_content', 'plot_z_convergence'
]
