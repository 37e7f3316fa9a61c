# Copyright (c) mmista contributors. All rights reserved.
"""Sparse-coding recovery of ISTA-NAS architectures.

See docs/en/method/sparse_coding.md.
"""
from .budgeted_support import (BudgetedSupports, BudgetInfeasibleError,
                               select_supports_within_budget)
from .cvxpy_backend import find_mosek_license, mosek_status
from .homotopy import homotopy_lasso
from .lasso import DEFAULT_LAMBDA, check_lam, solve_lasso
from .optimality import kkt_residual, kkt_tolerance, lasso_objective
from .projection import (build_dictionaries, init_compressed, select_support,
                         support_bias, support_mask, support_weights,
                         weights_on_support)
from .recovery import ArchitectureRecovery, recover_architecture
from .solver_registry import (LASSO_SOLVERS, SOLVER_ALIASES, get_lasso_solver,
                              parse_solver_spec, register_lasso_solver,
                              valid_solver_names)

__all__ = [
    'check_lam',
    'DEFAULT_LAMBDA', 'solve_lasso', 'homotopy_lasso', 'lasso_objective',
    'kkt_residual', 'kkt_tolerance', 'LASSO_SOLVERS', 'SOLVER_ALIASES',
    'register_lasso_solver', 'get_lasso_solver', 'valid_solver_names',
    'parse_solver_spec',
    'mosek_status', 'find_mosek_license', 'build_dictionaries',
    'init_compressed', 'select_support', 'support_mask', 'support_bias',
    'support_weights', 'weights_on_support', 'ArchitectureRecovery',
    'recover_architecture', 'BudgetedSupports', 'BudgetInfeasibleError',
    'select_supports_within_budget'
]
