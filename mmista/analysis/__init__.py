# Copyright (c) mmista contributors. All rights reserved.
"""Counting what a derived network costs: parameters and multiply-adds,
in total and per edge (docs/en/method/resource_budget.md)."""
from .complexity import (DEFAULT_SIZES, build_counted_model, count_flops,
                         count_params, input_shape, is_auxiliary,
                         model_complexity, params_by_module)
from .edge_costs import measure_edge_costs, probe_genotypes

__all__ = [
    'DEFAULT_SIZES', 'build_counted_model', 'count_flops', 'count_params',
    'input_shape', 'is_auxiliary', 'model_complexity', 'params_by_module',
    'measure_edge_costs', 'probe_genotypes'
]
