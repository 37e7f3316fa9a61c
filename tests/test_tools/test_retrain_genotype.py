# Copyright (c) mmista contributors. All rights reserved.
"""The commands of docs/en/user_guides/retrain_genotype.md at tiny size (4
cells of C = 4, 96 digits, one epoch): a searched genotype becomes an
evaluation config, which trains from scratch once per seed, and the runs
are summarised."""
import math

import torch

from mmista.analysis.seed_runs import read_seed_run
from ..utils import ONE_EPOCH, run_tool


def weights(work_dir):
    return torch.load(
        work_dir / 'epoch_1.pth', map_location='cpu',
        weights_only=True)['state_dict']


def test_retrain_with_seeds(onestage_search_dir, tmp_path):
    eval_config = tmp_path / 'eval_config.py'
    run_tool('tools/genotype_to_config.py',
             str(onestage_search_dir / 'export'), '--out', str(eval_config))
    runs = {}
    for name, seed in (('seed_0', 0), ('seed_1', 1), ('seed_0_again', 0)):
        runs[name] = tmp_path / 'retrain' / name
        run_tool('tools/train.py', str(eval_config), '--work-dir',
                 str(runs[name]), '--cfg-options', *ONE_EPOCH,
                 f'randomness.seed={seed}')
        run = read_seed_run(str(runs[name]))
        assert (run.seed, run.epoch) == (seed, 1)
        assert math.isfinite(run.value) and 0 <= run.value <= 100

    first, other, again = (weights(runs[name]) for name in runs)
    assert any(not torch.equal(first[key], other[key]) for key in first)
    assert all(torch.equal(first[key], again[key]) for key in first)

    proc = run_tool('tools/analysis_tools/seed_summary.py',
                    str(runs['seed_0']), str(runs['seed_1']))
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == ('| work dir | seed | epoch | accuracy/top1 | wall '
                        'time |')
    rows = [line.split(' | ')[1:3] for line in lines[2:4]]
    assert rows == [['0', '1'], ['1', '1']]
    values = [
        read_seed_run(str(runs[name])).value for name in ('seed_0', 'seed_1')
    ]
    mean = sum(values) / 2
    std = abs(values[0] - values[1]) / math.sqrt(2)
    assert lines[-1] == (f'accuracy/top1 over 2 runs: {mean:.2f} ± '
                         f'{std:.2f} (mean ± sample standard deviation)')
