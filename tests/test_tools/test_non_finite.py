# Copyright (c) mmista contributors. All rights reserved.
"""A diverged run stops before it steps on NaN, names a checkpoint with
finite weights and an advice that works; NaN weights or outputs are never
exported, tested or converted."""
import re
import shlex
import shutil

import pytest
import torch

from ..utils import (DIGITS_EVAL_CONFIG, ONESTAGE_DIGITS, TINY_ONESTAGE,
                     TINY_TRAIN_OPTIONS, run_tool)
from .test_hardening import digest


def error_line(proc) -> str:
    """The one ``error:`` line of a failed tool, with no traceback."""
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines()
             if line.startswith('error: ')]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def weights(path):
    return torch.load(path, map_location='cpu',
                      weights_only=True)['state_dict']


def copy_of(work_dir, tmp_path):
    copy = tmp_path / 'work'
    shutil.copytree(work_dir, copy)
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_1.pth'))
    return copy


def test_lr_from_config_resumes_as_if_the_config_had_always_been_used(
        one_epoch_dir, tmp_path):
    uninterrupted = tmp_path / 'uninterrupted'
    run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
             str(uninterrupted), '--cfg-options', *TINY_TRAIN_OPTIONS)
    # The one-epoch run's schedule ended after its epoch; the config's (two
    # epochs) is the uninterrupted run's, and everything else is resumed.
    resumed = copy_of(one_epoch_dir, tmp_path)
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(resumed), '--resume', '--lr-from-config',
                    '--cfg-options', *TINY_TRAIN_OPTIONS)
    assert 'optimizer lr 0.05 -> 0.025' in proc.stdout + proc.stderr
    expected = weights(uninterrupted / 'epoch_2.pth')
    got = weights(resumed / 'epoch_2.pth')
    assert expected.keys() == got.keys()
    for key in expected:  # the same computation repeated: same bits
        assert torch.equal(expected[key], got[key]), key


def test_divergence_stops_before_the_step_and_its_advice_works(
        one_epoch_dir, tmp_path):
    work_dir = copy_of(one_epoch_dir, tmp_path)
    good = work_dir / 'epoch_1.pth'
    before = digest(good)
    proc = run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
                    str(work_dir), '--resume', '--lr-from-config',
                    '--cfg-options', *TINY_TRAIN_OPTIONS,
                    'optim_wrapper.optimizer.lr=1e38', check=False)
    line = error_line(proc)
    assert 'before the SGD optimizer stepped on it' in line
    assert f'The newest checkpoint with finite weights is {good}' in line
    assert 'optim_wrapper.optimizer.lr=1e+38 now' in line
    assert digest(good) == before
    assert not (work_dir / 'epoch_2.pth').exists()
    # The printed command, with a learning rate that does not diverge.
    command = shlex.split(line[line.index(' tools/train.py') + 1:])
    assert command[command.index('--resume') + 1] == str(good)
    assert '--lr-from-config' in command
    command = [
        'optim_wrapper.optimizer.lr=0.01' if word.startswith(
            'optim_wrapper.optimizer.lr=') else word for word in command
    ]
    proc = run_tool(*command)
    log = proc.stdout + proc.stderr
    # cosine over two epochs: half the config's rate in the second
    assert re.search(r'Epoch\(train\) \[2\]\[1/3\]\s+lr: 5\.0000e-03', log)
    final = weights(work_dir / 'epoch_2.pth')
    assert all(torch.isfinite(v).all() for v in final.values()
               if v.is_floating_point())


@pytest.fixture
def search_dir(onestage_search_dir):
    return onestage_search_dir


def test_checkpoint_with_nan_b_is_neither_exported_tested_nor_resumed(
        search_dir, tmp_path):
    checkpoint = torch.load(search_dir / 'epoch_2.pth', weights_only=True)
    for key in checkpoint['state_dict']:
        if '.architecture.compressed.' in key:
            checkpoint['state_dict'][key].fill_(float('nan'))
    nan_b = tmp_path / 'nan_b.pth'
    torch.save(checkpoint, nan_b)
    out = tmp_path / 'export'
    cases = {
        'export': ('tools/export_backbone.py', ONESTAGE_DIGITS, str(nan_b),
                   '--out', str(out), '--cfg-options', *TINY_ONESTAGE),
        'test': ('tools/test.py', ONESTAGE_DIGITS, str(nan_b), '--work-dir',
                 str(tmp_path / 'test'), '--cfg-options', *TINY_ONESTAGE),
        'resume': ('tools/train.py', ONESTAGE_DIGITS, '--resume',
                   str(nan_b), '--work-dir', str(tmp_path / 'resume'),
                   '--cfg-options', *TINY_ONESTAGE),
    }
    for name, args in cases.items():
        line = error_line(run_tool(*args, check=False))
        assert 'tensor(s) are not finite' in line, name
        assert 'backbone.architecture.compressed.normal_0 (nan)' in line, name
    assert not out.exists()


@pytest.mark.parametrize('damage, message', [
    ('weight', 'backbone.stem.conv.weight (nan)'),
    # finite weights, NaN outputs: a negative BatchNorm variance
    ('variance', 'not finite'),
])
def test_damaged_export_is_neither_tested_nor_converted(
        search_dir, tmp_path, damage, message):
    export = tmp_path / 'export'
    shutil.copytree(search_dir / 'export', export)
    model = torch.load(export / 'model.pth', weights_only=True)
    state = model['state_dict']
    if damage == 'weight':
        state['backbone.stem.conv.weight'][0, 0, 0, 0] = float('nan')
    else:
        state['backbone.stem.bn.running_var'].fill_(-1.)
    torch.save(model, export / 'model.pth')
    # tools/test.py on NaN weights: test_checkpoint_with_nan_b_...
    tools = [('tools/deployment/convert.py', str(export), '--formats',
              'torch_export')]
    if damage == 'variance':
        tools.append(('tools/test.py', str(export / 'config.py'),
                      str(export / 'model.pth'), '--work-dir',
                      str(tmp_path / 'test')))
    for args in tools:
        line = error_line(run_tool(*args, check=False))
        assert message in line, args[0]
    assert not (export / 'model.pt2').exists()
