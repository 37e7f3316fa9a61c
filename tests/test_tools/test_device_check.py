# Copyright (c) mmista contributors. All rights reserved.
"""tools/analysis_tools/device_check.py: its dry run on the CPU (--tiny)
writes every section with plausible figures (no timing is asserted)."""
import json
import math
import os
import re
from pathlib import Path

import pytest

from mmista.apis import EXPORT_FILES
from ..utils import REPO_ROOT, run_tool

TOOL = 'tools/analysis_tools/device_check.py'
SECTIONS = ('cuda_tests', 'search_steps', 'onestage_run', 'ddp',
            'imagenet_step')
#: A pytest skip without CUDA, then the test it marks.
CUDA_SKIP = re.compile(
    r'skipif\(\s*not torch\.cuda\.is_available\(\)[^)]*\)\s*'
    r'def (test_\w+)', re.S)


@pytest.fixture(scope='module')
def tiny_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp('device_check')
    out = folder / 'check.json'
    # one thread: the tiny networks gain nothing from more, shared cores
    # lose much
    proc = run_tool(
        TOOL, '--device', 'cpu', '--tiny', '--out', str(out), threads=1)
    assert os.listdir(folder) == ['check.json']  # no temporary file left
    return json.loads(out.read_text()), proc


def test_every_section_is_recorded(tiny_report):
    report, proc = tiny_report
    assert list(report['sections']) == list(SECTIONS)
    statuses = {k: v['status'] for k, v in report['sections'].items()}
    assert statuses == dict(
        {name: 'passed'
         for name in SECTIONS}, cuda_tests='skipped: no CUDA')
    assert all(s['seconds'] > 0 for s in report['sections'].values())
    assert report['device'] == 'cpu' and report['tiny'] is True
    assert report['machine']['packages']['mmengine']
    assert 'cuda_tests skipped: no CUDA, search_steps passed' in proc.stdout


def test_cuda_tests_are_every_test_skipped_without_cuda(tiny_report):
    section = tiny_report[0]['sections']['cuda_tests']['figures']
    marked = {
        f'{path.relative_to(REPO_ROOT)}::{name}'
        for path in Path(REPO_ROOT, 'tests').rglob('test_*.py')
        for name in CUDA_SKIP.findall(path.read_text())
    }
    assert len(marked) == 2 and set(section['tests']) == marked
    # on the CPU they ran, and pytest skipped them all
    assert section['counts']['skipped'] == 2
    assert section['counts']['tests'] == 2


def test_search_steps_with_and_without_amp(tiny_report):
    section = tiny_report[0]['sections']['search_steps']['figures']
    assert section['errors'] == {}
    assert set(section['cases']) == {'b4_fp32', 'b8_fp32', 'b4_amp', 'b8_amp'}
    for name, case in section['cases'].items():
        assert case['amp'] == ('bfloat16' if name.endswith('amp') else None)
        for key in ('ista_over_target_step', 'dense_over_ista_step',
                    'ista_over_target_peak_mem'):
            assert math.isfinite(case[key]) and case[key] > 0
        steps = case['step_seconds_median']
        assert case['ista_over_target_step'] == \
            steps['ista'] / steps['target']
        assert all(v > 0 for v in case['images_per_s'].values())
        assert case['host_syncs_per_step'] is None  # CUDA only
        assert case['batch_size'] == int(name[1:].split('_')[0])


def test_onestage_run_recovers_terminates_and_exports(tiny_report):
    run = tiny_report[0]['sections']['onestage_run']['figures']
    # 32 images in batches of 8: one search epoch, one evaluation epoch
    assert run['iters'] == 8 and run['epochs'] == 2
    assert run['images_per_s'] > 0 and run['images_per_s_median_iter'] > 0
    assert run['peak_mem_mib'] > 0
    assert run['recoveries'] == 2  # before training, after epoch 1
    assert run['all_terminated'] and run['fixed_epoch'] == 1
    assert run['terminated_by'] == 'the max_search_epochs cap'
    assert set(EXPORT_FILES) <= set(run['exported'])
    lines = run['log_lines']
    assert 'Genotype (epoch 1)' in lines['recovery'][-1]
    assert any('terminated' in line for line in lines['termination'])
    assert lines['export'][0].startswith(
        'mmengine - INFO - Exported the absorbed derived network')


def test_ddp_matches_the_steps_without_it(tiny_report):
    ddp = tiny_report[0]['sections']['ddp']['figures']
    assert ddp['backend'] == 'gloo' and ddp['world_size'] == 1
    assert len(ddp['losses']) == ddp['iters'] == 2
    assert all(math.isfinite(loss) for loss in ddp['losses'])
    # one process on the CPU: the same gradients, the same weights
    assert ddp['max_param_diff_vs_local'] == 0


def test_imagenet_step(tiny_report):
    step = tiny_report[0]['sections']['imagenet_step']['figures']
    assert step['network'] == 'configs/nets/ista_onestage_imagenet.py'
    assert step['batch_size'] == 2 and step['image_size'] == 224
    assert step['images_per_s'] > 0 and step['peak_mem_mib'] > 0


def test_full_size_on_the_cpu_is_refused(tmp_path):
    out = tmp_path / 'check.json'
    proc = run_tool(
        TOOL, '--device', 'cpu', '--out', str(out), check=False)
    assert proc.returncode != 0 and not out.exists()
    assert proc.stderr.strip().splitlines() == [
        'error: the full-size check takes hours on the CPU: add --tiny for '
        'the dry run (or --force to run it anyway)'
    ]


def test_device_requirements_pin_the_locked_versions():
    def pins(name):
        lines = Path(REPO_ROOT, 'requirements', name).read_text().splitlines()
        return dict(
            line.split('==') for line in lines
            if line and not line.startswith('#'))

    device, lock = pins('device.txt'), pins('lock.txt')
    assert {'mmengine', 'mmcv-lite', 'mmpretrain', 'cvxpy', 'pytest'} <= \
        set(device)
    assert {name: lock.get(name) for name in device} == device
    # the GPU machine's own torch stays
    assert not {'torch', 'torchvision', 'triton'} & set(device)
