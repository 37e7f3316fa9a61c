# Copyright (c) mmista contributors. All rights reserved.
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.numerics

TOOL = (
    Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' /
    'benchmark_recovery.py')


def test_benchmark_prints_one_json_object():
    cmd = [sys.executable, str(TOOL), '--instances', '3', '--repeats', '1']
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True, timeout=300)
    report = json.loads(out.stdout)  # stdout holds the JSON and nothing else
    timing = report['timing_per_full_recovery']
    assert set(timing) == {'homotopy', 'cvxpy:CLARABEL'}
    for entry in timing.values():
        assert entry['runs'] == 3
        # exact: the tool prints this very product; JSON keeps float64
        assert entry['median_ms'] == entry['median_s'] * 1e3 > 0
    agreement = report['agreement_with_reference']['homotopy']
    assert agreement['nodes'] == 24
    assert agreement['compared'] + agreement['near_ties_skipped'] == 24
    assert agreement['support_equal'] == agreement['compared']
    assert agreement['worst_relative_objective_gap'] <= 1e-6
    assert report['config']['node_shapes'][:4] == [
        '7x14', '7x21', '7x28', '7x35'
    ]
