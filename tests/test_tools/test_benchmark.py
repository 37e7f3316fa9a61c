# Copyright (c) mmista contributors. All rights reserved.
"""tools/analysis_tools/benchmark.py in a tiny setting: it works (no
timing is asserted; machines here are shared)."""
import json

import pytest

from ..utils import run_tool

TOOL = 'tools/analysis_tools/benchmark.py'
TINY = [
    '--channels', '4', '--layers', '3', '--batch-size', '4',
    '--image-size', '16', '--repeats', '2', '--warmup', '1',
    '--memory-steps', '1', '--recovery-repeats', '3'
]


@pytest.mark.parametrize('search', ['onestage', 'twostage'])
def test_benchmark_prints_the_headline_figures(search):
    proc = run_tool(TOOL, *TINY, '--search', search)
    report = json.loads(proc.stdout)
    assert report['config']['search'] == search
    for key in ('ista_over_target_step', 'dense_over_ista_step',
                'ista_over_target_peak_mem', 'recovery_ms',
                'recovery_with_budget_ms', 'recovery_with_latency_budget_ms',
                'finite_check_step'):
        assert report[key] > 0
        # exact here and below: the tool prints these very floats, and JSON
        # keeps a float64 exactly
        assert report['targets'][key]['value'] == report[key]
        assert isinstance(report['targets'][key]['holds'], bool)
    steps = report['step_seconds_median']
    assert report['ista_over_target_step'] == steps['ista'] / steps['target']
    assert report['finite_check_step'] == \
        steps['target'] / steps['target_unchecked']
    assert all(len(report['step_seconds'][m]) == 2 for m in steps)
    mem = report['peak_mem_mib']
    assert all(mem[m] > 0 for m in ('ista', 'target', 'dense'))
    assert report['peak_mem_method'].startswith('rss')
    # The dense baseline holds every op of every edge; the target only the
    # supported ones.
    params = report['num_params']
    assert params['dense'] > 3 * params['target']
    assert set(report['recovery']) == {'auto', 'cvxpy:CLARABEL'}
    assert report['recovery_ms'] == report['recovery']['auto']['median_ms']
    assert report['config']['device'] == 'cpu'
    assert report['ista_forward_host_syncs'] is None  # CUDA only
    # The budget binds (the first recovery's network exceeds it) and the
    # selection keeps within it.
    budgeted = report['recovery_with_budget']
    assert report['recovery_with_budget_ms'] == budgeted['median_ms']
    metrics = ('params', 'flops')
    assert all(budgeted['cost'][m] <= budgeted['budget'][m] for m in metrics)
    assert any(budgeted['proposed_cost'][m] > budgeted['budget'][m]
               for m in metrics)
    assert any(budgeted['changed_nodes'].values())
    # Likewise under a latency bound alone, with the parameters and with
    # both counted metrics (a table of the target network built here).
    latency = report['recovery_with_latency_budget']
    assert report['recovery_with_latency_budget_ms'] == \
        latency['latency_ms']['median_ms']
    assert latency['table']['device'].startswith('pytorch on cpu')
    for case in ('latency_ms', 'params+latency_ms', 'params+flops+latency_ms'):
        timed = latency[case]
        bounded = case.split('+')
        assert {m for m, b in timed['budget'].items() if b is not None} == \
            set(bounded)
        assert timed['median_ms'] > 0
        assert all(timed['cost'][m] <= timed['budget'][m] for m in bounded)
        assert any(timed['proposed_cost'][m] > timed['budget'][m]
                   for m in bounded)
        assert any(timed['changed_nodes'].values())


def test_benchmark_times_mixed_precision_against_float32():
    proc = run_tool(TOOL, *TINY, '--measure', 'amp')
    report = json.loads(proc.stdout)
    amp = report['amp']
    assert amp['dtype'] == 'bfloat16'  # the CPU's
    steps = amp['step_seconds_median']
    assert set(steps) == {'ista', 'ista_amp', 'target', 'target_amp'}
    assert all(len(amp['step_seconds'][m]) == 2 for m in steps)
    for name in ('ista', 'target'):
        assert report['amp_over_fp32_step'][name] == \
            steps[f'{name}_amp'] / steps[name] > 0
    assert 'ista_over_target_step' not in report  # --measure amp only


def test_benchmark_measures_activation_checkpointing():
    proc = run_tool(TOOL, '--measure', 'with_cp', '--cp-channels', '4',
                    '--cp-layers', '4', '--cp-batch-size', '8',
                    '--cp-repeats', '1')
    report = json.loads(proc.stdout)
    with_cp = report['with_cp']
    mem = with_cp['peak_mem_mib']
    assert mem['plain'] > 0 and mem['with_cp'] > 0
    assert report['with_cp_peak_mem'] == mem['with_cp'] / mem['plain']
    # Checkpointed cells keep only their inputs: less memory, also here.
    assert report['with_cp_peak_mem'] < 1
    steps = with_cp['step_seconds_median']
    assert report['with_cp_step'] == steps['with_cp'] / steps['plain']
    assert set(report['targets']) == {'with_cp_peak_mem'}
    assert report['targets']['with_cp_peak_mem']['max'] == 0.6
    assert with_cp['config']['layers'] == 4
    assert 'ista_over_target_step' not in report  # --measure with_cp only
