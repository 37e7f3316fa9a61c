# Copyright (c) mmista contributors. All rights reserved.
"""Two gloo processes on the CPU through tools/dist_train.sh: the
architecture state is identical on both ranks after every recovery."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config

from ..test_tools.test_budget_search import (binding_bound, budget_lines,
                                             exported_cfg)
from ..utils import REPO_ROOT

pytestmark = pytest.mark.numerics

ONESTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
TWOSTAGE_DIGITS = f'{REPO_ROOT}/configs/ista/twostage_digits.py'

RECORDER = textwrap.dedent('''
    """Saves each rank's architecture state when an epoch starts (after
    every mmista hook), and with the whole network when training ends."""
    import os

    import torch
    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper

    from mmista.registry import HOOKS


    @HOOKS.register_module()
    class RankStateRecorder(Hook):
        priority = 'LOWEST'

        def __init__(self, out_dir):
            self.out_dir = out_dir

        def _dump(self, runner, tag):
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            arch = model.backbone.architecture
            state = {k: v.detach().clone() for k, v in
                     arch.state_dict().items()}
            state['genotype'] = str(arch.genotype())
            if tag == 'final':  # the whole network, BN statistics included
                state.update({f'model.{k}': v.detach().clone()
                              for k, v in model.state_dict().items()})
            torch.save(state, os.path.join(
                self.out_dir, f'rank{get_rank()}_{tag}.pth'))

        def before_train_epoch(self, runner):
            self._dump(runner, f'epoch{runner.epoch}')

        def after_train(self, runner):
            self._dump(runner, 'final')
''')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_config(directory, base, overrides: str) -> str:
    hooks = Config.fromfile(base).get('custom_hooks', [])
    hooks = [dict(h) for h in hooks] + [
        dict(type='RankStateRecorder', out_dir=str(directory / 'states'))
    ]
    path = directory / 'dist_config.py'
    path.write_text(
        f'_base_ = [{base!r}]\n'
        "custom_imports = dict(imports=['mmista', 'rank_recorder'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = {hooks!r}\n' + textwrap.dedent(overrides))
    (directory / 'rank_recorder.py').write_text(RECORDER)
    (directory / 'states').mkdir()
    return str(path)


def dist_env(directory):
    return dict(
        os.environ,
        PYTHON=sys.executable,
        PYTHONPATH=str(directory),
        OMP_NUM_THREADS='1',
        PYTHONWARNINGS='ignore',
        PORT=str(free_port()))


def run_launcher(directory, *args):
    proc = subprocess.run(['bash', *args],
                          cwd=REPO_ROOT,
                          env=dist_env(directory),
                          capture_output=True,
                          text=True,
                          timeout=600)
    if proc.returncode != 0:
        pytest.fail(f'{args[0]} exited with {proc.returncode}:\n'
                    f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def dist_train(directory, config):
    return run_launcher(directory, 'tools/dist_train.sh', config, '2',
                        '--work-dir', str(directory / 'work'))


def assert_ranks_agree(states_dir, tags):
    for tag in tags:
        rank0 = torch.load(states_dir / f'rank0_{tag}.pth')
        rank1 = torch.load(states_dir / f'rank1_{tag}.pth')
        assert rank0.keys() == rank1.keys()
        assert rank0['genotype'] == rank1['genotype'], tag
        for key, value in rank0.items():
            if key != 'genotype':
                # exact: rank 0's state is broadcast, weights step on the
                # same all-reduced gradients
                assert torch.equal(value, rank1[key]), (tag, key)


TINY_NET_BACKBONE = dict(channels=4, layers=4)
TINY_NET = """
model = dict(
    backbone=dict(channels=4, layers=4),
    head=dict(in_channels=64, aux_in_channels=64))
train_dataloader = dict(batch_size=16, dataset=dict(indices=96))
val_dataloader = dict(dataset=dict(indices=64))
train_cfg = dict(max_epochs=8, val_interval=4)
"""


@pytest.mark.parametrize('budget', [False, True])
def test_onestage_ranks_agree(tmp_path, budget):
    config = write_config(tmp_path, ONESTAGE_DIGITS, TINY_NET)
    cfg = Config.fromfile(config, import_custom_modules=False)
    cfg.train_cfg.stages.termination['max_search_epochs'] = 3
    cfg.train_cfg.stages.phase_switch['eval_epochs'] = 1
    cfg.train_cfg.stages.export['check_learned'] = False
    bound = None
    if budget:  # rank 0 decides the budget's supports, every rank gets them
        bound = binding_bound(
            exported_cfg(ONESTAGE_DIGITS, TINY_NET_BACKBONE,
                         dict(in_channels=64, aux_in_channels=64)), 'params')
        cfg.train_cfg.stages.recovery['budget'] = dict(params=bound)
    cfg.dump(config)
    proc = dist_train(tmp_path, config)
    log = proc.stdout + proc.stderr
    assert 'Architecture fixed after epoch 3' in log
    if budget:
        lines = budget_lines(log)
        assert len(lines) == 4 and all(p <= bound for _, p, _ in lines)
    assert_ranks_agree(tmp_path / 'states',
                       ['epoch1', 'epoch2', 'epoch3', 'final'])
    final = torch.load(tmp_path / 'states' / 'rank0_final.pth')
    assert int(final['fixed_epoch']) == 3
    # Each rank's log of genotypes (one line per recovery) is the same.
    logs = [(tmp_path / 'work' / 'genotypes' / f'rank{r}.txt').read_text()
            for r in (0, 1)]
    assert logs[0] == logs[1] and logs[0].count('epoch ') == 4
    # The export, tested by two processes.
    export = tmp_path / 'work' / 'export'
    metrics = tmp_path / 'metrics.json'
    run_launcher(tmp_path, 'tools/dist_test.sh', str(export / 'config.py'),
                 str(export / 'model.pth'), '2', '--work-dir',
                 str(tmp_path / 'test'), '--out', str(metrics))
    assert 'accuracy/top1' in json.loads(metrics.read_text())


def test_twostage_ranks_agree(tmp_path):
    config = write_config(
        tmp_path, TWOSTAGE_DIGITS, """
        model = dict(backbone=dict(channels=4, layers=3),
                     head=dict(in_channels=64))
        train_dataloader = dict(
            batch_size=16, dataset=dict(dataset=dict(indices=128)))
        arch_dataloader = dict(
            batch_size=16, dataset=dict(dataset=dict(indices=128)))
        val_dataloader = dict(dataset=dict(indices=64))
        train_cfg = dict(max_epochs=3, val_interval=3)
        """)
    dist_train(tmp_path, config)
    assert_ranks_agree(tmp_path / 'states', ['epoch1', 'epoch2', 'final'])
    # b moved, identically on both ranks.
    first = torch.load(tmp_path / 'states' / 'rank0_epoch1.pth')
    final = torch.load(tmp_path / 'states' / 'rank0_final.pth')
    assert not torch.equal(first['compressed.normal_0'],
                           final['compressed.normal_0'])
