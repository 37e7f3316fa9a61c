# Copyright (c) mmista contributors. All rights reserved.
"""tools/analysis_tools/search_protocol.py at tiny size (4 cells of C = 4,
96 digits): 2 one-stage searches (one search epoch, one evaluation epoch)
x 1 retrain of two epochs, against 2 random genotypes of matched size x 1
retrain. The rows, the report, the plot; a rerun trains nothing; a run
whose done marker and last checkpoint are gone resumes from the
checkpoint before. Then the launchers' printed commands, failures, bad
input, and the statistics and the random sampler on their own."""
import csv
import json
import math
import os
import os.path as osp
import shlex

import numpy as np
import pytest
from mmengine.config import Config
from scipy import stats

from mmista.analysis.complexity import build_counted_model, count_params
from mmista.analysis.protocol_report import markdown, summarize
from mmista.analysis.protocol_runs import DONE_FILE, Launcher
from mmista.analysis.protocol_stats import welch_t_test
from mmista.analysis.random_genotypes import (draw_random_genotypes,
                                              sample_genotype, structure_of)
from mmista.analysis.search_protocol import (ProtocolOptions, SearchProtocol,
                                             parse_options)
from mmista.analysis.seed_runs import read_seed_run
from mmista.errors import ConfigError, UserError
from mmista.structures import get_genotype
from ..utils import (ONESTAGE_DIGITS, REPO_ROOT, TINY_ONESTAGE,
                     TINY_TRAIN_OPTIONS, run_tool, tiny_config)

TOOL = 'tools/analysis_tools/search_protocol.py'
SEARCH_OPTIONS = TINY_ONESTAGE + ['train_cfg.val_interval=1']
# two epochs (a checkpoint to resume from after the first)
RETRAIN_OPTIONS = TINY_TRAIN_OPTIONS
# every run keeps at most 2 checkpoints
COMMON = ['default_hooks.checkpoint.max_keep_ckpts=2']
THREADS = 1
MATCH = 0.5


def protocol_args(root, *extra):
    return (TOOL, ONESTAGE_DIGITS, '--searches', '2', '--retrains', '1',
            '--random', '2', '--match-params', str(MATCH), '--work-dir',
            str(root), '--cfg-options', *COMMON, '--search-cfg-options',
            *SEARCH_OPTIONS, '--retrain-cfg-options', *RETRAIN_OPTIONS,
            *extra)


RUNS = ('search/seed_0', 'search/seed_1', 'ista/g0/seed_0',
        'ista/g1/seed_0', 'random/g0/seed_0', 'random/g1/seed_0')


@pytest.fixture(scope='module')
def protocol(tmp_path_factory):
    """The work dir and output of one tiny protocol."""
    root = tmp_path_factory.mktemp('protocol')
    proc = run_tool(*protocol_args(root), threads=THREADS)
    return root, proc


def checkpoints_mtimes(root):
    return {
        osp.join(dirpath, name): os.stat(osp.join(dirpath, name)).st_mtime_ns
        for dirpath, _, names in os.walk(root) for name in names
        if name.endswith('.pth')
    }


def test_rows_report_and_plot(protocol):
    root, proc = protocol
    for name in RUNS:
        assert f'running {name}: ' in proc.stdout
        assert osp.isfile(root / name / DONE_FILE)
    with open(root / 'runs.csv') as file:
        rows = list(csv.DictReader(file))
    with open(root / 'runs.json') as file:
        report = json.load(file)
    assert [(r['method'], r['genotype_id'], r['search_seed'],
             r['retrain_seed']) for r in rows] == [
                 ('ista', 'g0', '0', '0'), ('ista', 'g1', '1', '0'),
                 ('random', 'g0', '', '0'), ('random', 'g1', '', '0')]
    assert len(report['runs']) == 4
    searched = []
    for row, item in zip(rows, report['runs']):
        run = read_seed_run(row['work_dir'])
        assert row['status'] == item['status'] == 'finished'
        assert float(row['accuracy']) == item['accuracy'] == run.value
        assert run.seed == 0 and math.isfinite(run.value)
        assert int(row['params']) == item['params'] > 0
        assert int(row['flops']) == item['flops'] > 0
        config = osp.join(osp.dirname(row['work_dir']), 'retrain_config.py')
        assert str(get_genotype(
            Config.fromfile(config).model.backbone.genotype)) == \
            item['genotype']
        if row['method'] == 'ista':
            search = root / 'search' / f'seed_{row["search_seed"]}'
            assert item['supernet_accuracy'] == read_seed_run(
                str(search)).value
            genotype = get_genotype(str(search / 'export' / 'genotype.json'))
            assert item['genotype'] == str(genotype)
            searched.append((genotype, item['params']))
        else:
            assert row['supernet_accuracy'] == ''
            assert item['supernet_accuracy'] is None
        # --cfg-options reached the run, the seed is the protocol's
        dumped = open(osp.join(row['work_dir'], 'retrain_config.py')).read()
        assert 'max_keep_ckpts=2' in dumped and 'seed=0' in dumped
    # the random genotypes: the searched sparsity, sizes within ±50%
    drawn = json.loads((root / 'random' / 'genotypes.json').read_text())
    assert (drawn['seed'], drawn['match_params']) == (0, MATCH)
    for item, row in zip(drawn['genotypes'], report['runs'][2:]):
        genotype = get_genotype(json.dumps(item['genotype']))
        assert row['genotype'] == str(genotype)
        assert genotype.edges_per_node == searched[0][0].edges_per_node
        assert genotype.steps == searched[0][0].steps
        assert item['params'] == row['params']
        assert any(
            abs(row['params'] - p) <= MATCH * p for _, p in searched)
    assert [run['status'] for run in report['settings']['search_runs']] \
        == ['finished', 'finished']
    text = (root / 'report.md').read_text()
    for section in ('## Accuracy per method', '## Best of N searches',
                    "## ISTA-NAS against random (Welch's t-test)",
                    "## Super-net against retrained accuracy (Kendall's "
                    'tau)', '## Genotypes',
                    '![accuracy against parameters]'
                    '(accuracy_vs_params.png)'):
        assert section in text
    methods = report['summary']['methods']
    ista_mean = sum(r['accuracy'] for r in report['runs'][:2]) / 2
    assert methods['ista']['runs']['mean'] == pytest.approx(ista_mean)
    assert '| ISTA-NAS | 2 / 2 | 2 / 2 | ' in text
    assert '| random | 2 / 2 | 2 / 2 | ' in text
    assert 'Runs not counted' not in text
    best = report['summary']['best_of_n']['value']
    accuracies = {r['genotype_id']: r['supernet_accuracy']
                  for r in report['runs'][:2]}
    assert best['supernet_accuracy'] == max(accuracies.values())
    assert (root / 'accuracy_vs_params.png').read_bytes()[:8] == \
        b'\x89PNG\r\n\x1a\n'


def test_rerun_trains_nothing(protocol):
    root, _ = protocol
    before = checkpoints_mtimes(root)
    assert len(before) >= 12  # 2 checkpoints per run (+ the exports)
    proc = run_tool(*protocol_args(root), threads=THREADS)
    for name in RUNS:
        assert f'skipped {name}: finished' in proc.stdout
    assert 'running' not in proc.stdout and 'resuming' not in proc.stdout
    assert checkpoints_mtimes(root) == before


def test_interrupted_run_resumes(protocol):
    root, _ = protocol
    work_dir = root / 'random' / 'g1' / 'seed_0'
    os.remove(work_dir / DONE_FILE)
    os.remove(work_dir / 'epoch_2.pth')
    before = checkpoints_mtimes(root)
    proc = run_tool(*protocol_args(root), threads=THREADS)
    first = work_dir / 'epoch_1.pth'
    assert (f'resuming random/g1/seed_0 (interrupted; resuming from '
            f'{first}): ') in proc.stdout
    for name in RUNS[:-1]:
        assert f'skipped {name}: finished' in proc.stdout
    assert osp.isfile(work_dir / 'epoch_2.pth')
    assert osp.isfile(work_dir / DONE_FILE)
    log = (work_dir / 'protocol_run.log').read_text()
    assert f'--resume: resuming from {first}' in log
    after = checkpoints_mtimes(root)
    changed = {path for path in after if after[path] != before.get(path)}
    assert changed == {str(work_dir / 'epoch_2.pth')}
    assert read_seed_run(str(work_dir)).epoch == 2


def test_dist_and_slurm_print_their_commands(tmp_path):
    root = tmp_path / 'printed'
    proc = run_tool(*protocol_args(root, '--launcher', 'dist', '--gpus', '2',
                                   '--dry-run'), threads=THREADS)
    options = ['--cfg-options', 'randomness.seed=1', *COMMON,
               *SEARCH_OPTIONS]
    line = shlex.join([
        'bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'),
        ONESTAGE_DIGITS, '2', '--work-dir', str(root / 'search' / 'seed_1'),
        '--resume', *options
    ])
    lines = proc.stdout.splitlines()
    assert '# search/seed_1: to run' in lines
    assert line in lines
    retrain = shlex.join([
        'bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'),
        str(root / 'ista' / 'g0' / 'retrain_config.py'), '2', '--work-dir',
        str(root / 'ista' / 'g0' / 'seed_0'), '--resume', '--cfg-options',
        'randomness.seed=0', *COMMON, *RETRAIN_OPTIONS
    ])
    assert '# ista/g0/seed_0: waits for search/seed_0' in lines
    assert retrain in lines
    assert any(line.startswith('# random/g1/seed_0: waits for the searches')
               for line in lines)
    assert not osp.exists(root / 'search' / 'seed_0' / 'last_checkpoint')

    proc = run_tool(*protocol_args(root, '--launcher', 'slurm', '--gpus',
                                   '16', '--partition', 'gpu'),
                    threads=THREADS)
    line = 'GPUS=16 GPUS_PER_NODE=8 ' + shlex.join([
        'bash', osp.join(REPO_ROOT, 'tools', 'slurm_train.sh'), 'gpu',
        'protocol_search_seed_1', ONESTAGE_DIGITS,
        str(root / 'search' / 'seed_1'), '--resume', *options
    ])
    assert line in proc.stdout.splitlines()
    assert not osp.exists(root / 'search' / 'seed_0' / 'last_checkpoint')
    with open(root / 'runs.csv') as file:
        rows = list(csv.DictReader(file))
    assert {row['status'] for row in rows} == {'waiting'}


def test_failed_runs_are_named_with_their_logs(tmp_path):
    bad = ['train_cfg.stages.recovery.type=NoSuchHook']
    args = (TOOL, ONESTAGE_DIGITS, '--searches', '2', '--retrains', '1',
            '--random', '1', '--search-cfg-options', *SEARCH_OPTIONS, *bad)
    proc = run_tool(*args, '--work-dir', str(tmp_path / 'stop'),
                    check=False, threads=THREADS)
    log = tmp_path / 'stop' / 'search' / 'seed_0' / 'protocol_run.log'
    assert proc.returncode == 1
    assert f'error: search/seed_0 failed (exit status 1): see its log ' \
        f'{log}' in proc.stderr
    assert 'NoSuchHook' in log.read_text()
    assert 'the protocol stopped there; --keep-going' in proc.stderr
    assert 'Traceback' not in proc.stderr.split('error: search/seed_0')[-1]
    assert not osp.exists(tmp_path / 'stop' / 'search' / 'seed_1')

    proc = run_tool(*args, '--work-dir', str(tmp_path / 'on'),
                    '--keep-going', check=False, threads=THREADS)
    assert proc.returncode == 1
    assert 'error: 2 run(s) failed: search/seed_0 failed' in proc.stderr
    assert osp.isfile(tmp_path / 'on' / 'search' / 'seed_1' /
                      'protocol_run.log')
    text = (tmp_path / 'on' / 'report.md').read_text()
    assert '| ISTA-NAS | 0 / 2 | 0 / 2 (incomplete) |' in text
    assert '**Fewer runs finished than requested**' in text
    assert ('ista/g1/seed_0: waiting (waits for search/seed_1, which '
            'failed)') in text


def test_bad_input_is_one_line(tmp_path):
    proc = run_tool(TOOL, 'configs/ista/no_such.py', '--work-dir',
                    str(tmp_path), check=False, threads=THREADS)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        'error: search config file not found: configs/ista/no_such.py'
    with pytest.raises(ConfigError, match='the protocol sets each run'):
        parse_options(['randomness.seed=3'], '--cfg-options')
    with pytest.raises(ConfigError, match='expected key=value'):
        parse_options(['max_epochs'], '--cfg-options')
    options = ProtocolOptions(
        config=ONESTAGE_DIGITS,
        work_dir=str(tmp_path),
        eval_config=osp.join(REPO_ROOT, 'configs', 'nets',
                             'ista_onestage_digits.py'),
        retrain_cfg_options=['trian_cfg.max_epochs=1'])
    protocol = SearchProtocol(options, Launcher('local', 'tools'),
                              REPO_ROOT)
    with pytest.raises(ConfigError, match="did you mean 'train_cfg'"):
        protocol.check()
    options.config = options.eval_config
    options.retrain_cfg_options = []
    with pytest.raises(ConfigError, match='is not a search config'):
        SearchProtocol(options, Launcher('local', 'tools'),
                       REPO_ROOT).check()


def test_welch_against_hand_computed_values():
    a, b = [1., 2., 3., 4.], [2., 4., 6., 8., 10.]
    # means 2.5 and 6, variances 5/3 and 10: standard errors² 5/12 and 2
    result = welch_t_test(a, b)
    assert result['t'] == pytest.approx(-3.5 / math.sqrt(5 / 12 + 2))
    assert result['t'] == pytest.approx(-2.25144, abs=1e-5)
    assert result['df'] == pytest.approx(
        (5 / 12 + 2)**2 / ((5 / 12)**2 / 3 + 2**2 / 4))
    assert result['df'] == pytest.approx(5.52079, abs=1e-5)
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert result['p'] == pytest.approx(reference.pvalue, rel=1e-9)
    assert 0.06 < result['p'] < 0.08
    assert result['difference'] == -3.5
    with pytest.raises(ValueError, match='at least two values'):
        welch_t_test([1.], [1., 2.])
    with pytest.raises(ValueError, match='both groups are constant'):
        welch_t_test([1., 1.], [2., 2.])
    with pytest.raises(ValueError, match='not finite'):
        welch_t_test([1., float('nan')], [2., 3.])


def row(method, gid, seed, accuracy, supernet=None, status='finished',
        params=1000):
    return dict(method=method, genotype_id=gid, search_seed=None,
                retrain_seed=seed, status=status, accuracy=accuracy,
                supernet_accuracy=supernet, params=params, flops=1,
                genotype='', work_dir=f'/r/{method}/{gid}/seed_{seed}',
                wall_s=None, note='')


def test_summary_leaves_out_nan_and_says_so():
    rows = [
        row('ista', 'g0', 0, 90., 70.), row('ista', 'g0', 1, 92., 70.),
        row('ista', 'g1', 0, 95., 75.), row('ista', 'g1', 1, 97., 75.),
        row('ista', 'g2', 0, 80., 60.),
        row('ista', 'g2', 1, float('nan'), 60., status='nan'),
        row('random', 'g0', 0, 85.), row('random', 'g1', 0, 88.),
        row('random', 'g1', 1, None, status='failed'),
    ]
    summary = summarize(rows)
    ista = summary['methods']['ista']
    assert (ista['requested'], ista['finished']) == (6, 5)
    assert ista['runs']['mean'] == pytest.approx((90 + 92 + 95 + 97 + 80) /
                                                 5)
    assert ista['genotype_means']['mean'] == pytest.approx((91 + 96 + 80) /
                                                           3)
    best = summary['best_of_n']['value']
    assert (best['genotype_id'], best['mean'], best['n']) == ('g1', 96., 2)
    welch = summary['welch']['value']
    assert welch['t'] == welch_t_test([91., 96., 80.], [85., 88.])['t']
    # super-net 70, 75, 60 against 91, 96, 80: the same order
    assert summary['kendall_tau']['value']['tau'] == 1.
    text = markdown(rows, summary, dict(config='c.py', searches=3,
                                        retrains=2, random=2), 'plot.png')
    assert '| ISTA-NAS | 3 / 3 | 5 / 6 (incomplete) |' in text
    assert '| random | 2 / 2 | 2 / 3 (incomplete) |' in text
    assert '**Fewer runs finished than requested** for ISTA-NAS, random' \
        in text
    assert '- ista/g2/seed_1: nan (/r/ista/g2/seed_1)' in text
    assert '- random/g1/seed_1: failed (/r/random/g1/seed_1)' in text
    assert '| ISTA-NAS | g2 |  | 1000 | 1 | 60.00 | 80.00, nan | ' in text
    assert json.dumps(summary)  # plain numbers only
    lone = summarize([row('ista', 'g0', 0, 90., 70.),
                      row('random', 'g0', 0, 85.)])
    assert lone['welch']['value'] is None
    assert 'at least two values' in lone['welch']['why']
    assert lone['kendall_tau']['value'] is None


def test_random_genotypes_keep_the_sparsity_and_the_seed():
    searched = [get_genotype('ista_onestage_cifar10'),
                get_genotype('ista_twostage_cifar10')]
    structure = structure_of(searched)
    assert structure['edges_per_node'] == 2 and structure['steps'] == 4
    first = draw_random_genotypes(searched, [0, 1, 2], seed=5)
    again = draw_random_genotypes(searched, [2], seed=5)
    other = draw_random_genotypes(searched, [0, 1, 2], seed=6)
    assert again[0] == first[2]  # genotype k does not depend on the count
    assert [g['genotype'] for g in first] != [g['genotype'] for g in other]
    for item in first:
        genotype = get_genotype(json.dumps(item['genotype']))
        assert genotype.edges_per_node == 2 and genotype.steps == 4
        assert genotype.normal_concat == searched[0].normal_concat
        for cell in ('normal', 'reduce'):
            edges = getattr(genotype, cell)
            for node in range(4):
                pair = edges[2 * node:2 * node + 2]
                assert len(set(pair)) == 2  # two distinct edges a node
                assert all(0 <= index < node + 2 for _, index in pair)
    three = sample_genotype(np.random.default_rng(0), steps=3,
                            edges_per_node=3, normal_concat=[2, 3, 4],
                            reduce_concat=[2, 3, 4])
    assert three.edges_per_node == 3 and len(three.normal) == 9
    with pytest.raises(UserError, match='differ in nodes'):
        structure_of([searched[0], three])


def test_random_genotypes_match_the_parameters(tmp_path):
    cfg = tiny_config(tmp_path)

    def params_of(genotype):
        cfg.model.backbone.genotype = genotype.to_dict()
        return count_params(build_counted_model(cfg.model))['params']

    searched = [get_genotype('ista_onestage_cifar10')]
    target = params_of(searched[0])
    drawn = draw_random_genotypes(searched, [0, 1], seed=0,
                                  params_of=params_of,
                                  target_params=[target], tolerance=0.1)
    for item in drawn:
        assert abs(item['params'] - target) <= 0.1 * target
        assert item['params'] == params_of(
            get_genotype(json.dumps(item['genotype'])))
    with pytest.raises(UserError) as error:
        draw_random_genotypes(searched, [0], seed=0, params_of=params_of,
                              target_params=[10], tolerance=0.1,
                              max_tries=3)
    assert str(error.value).startswith(
        'random genotype 0: none of 3 draws has a parameter count within '
        "±10% of a searched genotype's (10)")
    assert str(error.value).endswith(
        'widen --match-params or raise --match-tries')
