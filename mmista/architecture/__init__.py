# Copyright (c) mmista contributors. All rights reserved.
"""The architecture under search: the state of a sparse-coding search.

:class:`CompressedArchitecture` holds everything a search decides and
checkpoints: the compressed vectors ``b`` (trained), the dictionaries, the
recovered ``z``, the supports and their weights' bias terms, which nodes
terminated and when, and the epoch the architecture was fixed at. The
super-net reads its support weights from it; the hooks change it through
:class:`mmista.engine.SearchState`. :class:`ResourceBudget` keeps the
derived network within a budget on its parameters, multiply-adds and
latency.
"""
from .compressed_architecture import CompressedArchitecture
from .latency_table import (DeviceRecord, LatencyTable, LatencyTableError,
                            Timing, edges_of_genotype, edges_of_supports)
from .resource_budget import (COUNTED_METRICS, METRICS, POLICIES,
                              BudgetDecision, EdgeCosts, ResourceBudget)

__all__ = [
    'CompressedArchitecture', 'COUNTED_METRICS', 'METRICS', 'POLICIES',
    'BudgetDecision', 'EdgeCosts', 'ResourceBudget', 'DeviceRecord',
    'LatencyTable', 'LatencyTableError', 'Timing', 'edges_of_genotype',
    'edges_of_supports'
]
