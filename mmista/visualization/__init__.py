# Copyright (c) mmista contributors. All rights reserved.
from .cell_drawing import draw_cell, draw_genotype

__all__ = ['draw_cell', 'draw_genotype']
