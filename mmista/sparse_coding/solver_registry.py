# Copyright (c) mmista contributors. All rights reserved.
"""The registry of LASSO solver backends.

A backend is a function ``fn(A, b, lam, num_cols, **options)`` that solves
``B`` problems ``min_z 1/2 ||A_i z - b_i||^2 + lam ||z||_1`` given as one
zero-padded float64 batch:

- ``A``: ``(B, m, N)``; problem ``i`` uses the columns ``:num_cols[i]``,
  the others (and any padded rows) are zero;
- ``b``: ``(B, m)``;
- ``lam``: a positive float;
- ``num_cols``: ``(B,)`` int array.

It returns ``(z, used)``: ``z`` of shape ``(B, N)`` (zero in the padding)
and a short description of what actually solved it, for the log.
"""
from typing import Callable, Dict, Tuple, Union

import numpy as np

LassoBackend = Callable[..., Tuple[np.ndarray, str]]

#: Registered LASSO backends by name.
LASSO_SOLVERS: Dict[str, LassoBackend] = {}

#: Alternative names. ``'auto'`` picks the native exact solver.
SOLVER_ALIASES: Dict[str, str] = {'auto': 'homotopy', 'native': 'homotopy'}


def register_lasso_solver(name: str) -> Callable[[LassoBackend], LassoBackend]:
    """Registers a LASSO backend under ``name``.

    Args:
        name (str): The name that selects the backend in
            :func:`~mmista.sparse_coding.solve_lasso`.

    Returns:
        Callable: A decorator that registers the function and returns it
        unchanged.

    Raises:
        KeyError: If the name is already taken.
    """

    def _register(fn: LassoBackend) -> LassoBackend:
        if name in LASSO_SOLVERS or name in SOLVER_ALIASES:
            raise KeyError(f'a LASSO solver named {name!r} is already '
                           'registered')
        LASSO_SOLVERS[name] = fn
        return fn

    return _register


def valid_solver_names() -> Tuple[str, ...]:
    """Returns every accepted solver name (aliases included), sorted."""
    return tuple(sorted(set(LASSO_SOLVERS) | set(SOLVER_ALIASES)))


def parse_solver_spec(spec: str) -> Union[str, Dict[str, str]]:
    """Turns a command-line solver name into a ``solver`` argument.

    Args:
        spec (str): A registered name or alias, optionally followed by a
            colon and the backend's own solver (``'cvxpy:CLARABEL'``).

    Returns:
        str | dict: ``spec`` itself, or ``dict(type=name, solver=SOLVER)``.
    """
    name, _, sub = spec.partition(':')
    return dict(type=name, solver=sub) if sub else name


def get_lasso_solver(name: str) -> Tuple[str, LassoBackend]:
    """Looks a backend up by name or alias.

    Args:
        name (str): A registered name or an alias.

    Returns:
        tuple[str, Callable]: The canonical name and the backend.

    Raises:
        TypeError: If ``name`` is not a string.
        ValueError: If no backend has that name; the message lists the
            valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f'solver must be a str or a dict with a "type" key, '
                        f'got {type(name).__name__}')
    canonical = SOLVER_ALIASES.get(name, name)
    if canonical not in LASSO_SOLVERS:
        raise ValueError(f'unknown LASSO solver {name!r}; valid solvers: '
                         f'{", ".join(valid_solver_names())}')
    return canonical, LASSO_SOLVERS[canonical]
