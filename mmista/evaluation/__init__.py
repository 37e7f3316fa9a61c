# Copyright (c) mmista contributors. All rights reserved.
from .correlation import kendall_tau, spearman_rho
from .metrics import *  # noqa: F401,F403

__all__ = ['kendall_tau', 'spearman_rho']
