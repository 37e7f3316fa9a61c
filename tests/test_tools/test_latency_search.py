# Copyright (c) mmista contributors. All rights reserved.
"""Searches under a latency budget, end to end: every recovery keeps the
derived network within the bound as its latency table predicts it, the
table measured when a search starts is saved and read back on resume, and
two processes use one table.

A table measured here with few timings varies by milliseconds from one
measurement to the next (its fixed part most), more than the edges of a
tiny network span; so a bound meant to bind is computed from the very
table the search reads (a file, or one read back on resume), and the
searches that measure their own table bound the latency loosely."""
import argparse
import json
import re

import pytest
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

from mmista.analysis import measure_edge_costs
from mmista.analysis.edge_costs import network_description
from mmista.analysis.latency_measurement import build_latency_table
from mmista.architecture import LatencyTable, edges_of_genotype
from mmista.registry import MODELS
from mmista.structures import Genotype
from ..test_dist.test_rank_consistency import run_launcher
from ..utils import REPO_ROOT, run_tool
from .test_budget_search import (DIGITS_OPTIONS, TINY_NET, TWOSTAGE_DIGITS,
                                 binding_bound, budget_lines, exported_cfg,
                                 reachable_ends)
from .test_onestage_imagenet import imagenet_root  # noqa: F401

DIGITS_LATENCY = f'{REPO_ROOT}/configs/ista/onestage_digits_latency.py'
MOBILE_LATENCY = (f'{REPO_ROOT}/configs/ista/'
                  'onestage_imagenet_mobile_latency.py')
BUDGET = 'train_cfg.stages.recovery.budget'
# The table measured when the search starts: PyTorch on one thread, few
# timings (a second for the tiny network).
MEASURED = [
    f'{BUDGET}.latency_table._delete_=True',
    f'{BUDGET}.latency_table.runtime=pytorch',
    f'{BUDGET}.latency_table.warmup=1', f'{BUDGET}.latency_table.repeats=2'
]
# The export times the exported network a few times only.
EXPORT_TIMING = [
    'train_cfg.stages.export.latency_warmup=1',
    'train_cfg.stages.export.latency_repeats=3'
]
# A bound no tiny network's table can exceed, for the searches that
# measure their own.
LOOSE_MS = 1000.0
DIGITS_NET = exported_cfg(DIGITS_LATENCY, TINY_NET,
                          dict(in_channels=64, aux_in_channels=64))
# The mobile search at a 4-cell, C = 8 network on a few photos.
MOBILE_MODEL = [
    'model.backbone.channels=8', 'model.backbone.layers=4',
    'model.head.in_channels=128', 'model.head.aux_in_channels=128'
]
LATENCY_LINE = re.compile(r'Resource budget after epoch (\d+): derived '
                          r'network [^;\n]*?latency_ms (-?[\d.]+)')


def latency_lines(log):
    """``(epoch, latency_ms)`` of every recovery's budget line."""
    return [(int(e), float(ms)) for e, ms in LATENCY_LINE.findall(log)]


def options_dict(options):
    """``--cfg-options`` strings as the dict tools/train.py merges."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--options', nargs='+', action=DictAction)
    return parser.parse_args(['--options', *options]).options


def first_recovery(config, options=()):
    """The genotype of a search's first recovery, before any training: the
    super-net built as the runner builds it (the config's seed set
    first)."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options_dict(options))
    init_default_scope('mmista')
    set_random_seed(cfg.randomness.seed)
    model = MODELS.build(cfg.model)
    model.backbone.recover()
    return model.backbone.genotype()


def measure_table(model_cfg, path, shape=None):
    """A table of ``model_cfg`` measured here, saved to ``path``."""
    table = build_latency_table(
        model_cfg, runtime='pytorch', warmup=1, repeats=2, shape=shape)
    table.save(str(path))
    return table


def latency_bound(model_cfg, table, upper, at=.5, shape=None):
    """A bound ``at`` of the way from the cheapest reachable network to
    ``upper`` milliseconds, as ``table`` predicts them (3 decimals, as the
    log writes milliseconds)."""
    costs = measure_edge_costs(model_cfg, shape=shape).with_latency(table)
    cheapest, _ = reachable_ends(costs, 'latency_ms')
    assert upper > cheapest
    return round(cheapest + at * (upper - cheapest), 3)


def assert_predicted(log, table, genotypes):
    """Every logged latency is the table's prediction for the genotype that
    recovery installed (``genotypes``: the run's ``genotypes`` folder)."""
    for epoch, logged in latency_lines(log):
        genotype = Genotype.from_json(genotypes / f'epoch_{epoch}.json')
        predicted = table.predict(edges_of_genotype(genotype))
        assert abs(logged - predicted) <= 5e-4 + 1e-9, epoch


@pytest.fixture(scope='module')
def digits_table(tmp_path_factory):
    """A table of the tiny digits network and a bound that its search's
    first recovery exceeds (halfway from the cheapest network to it)."""
    path = tmp_path_factory.mktemp('table') / 'digits_table.json'
    table = measure_table(DIGITS_NET, path)
    first = table.predict(
        edges_of_genotype(first_recovery(DIGITS_LATENCY, DIGITS_OPTIONS)))
    return path, table, latency_bound(DIGITS_NET, table, first)


@pytest.fixture(scope='module')
def digits_search(tmp_path_factory, digits_table):
    """The digits latency config under that bound, the table as a file."""
    path, _, bound = digits_table
    work_dir = tmp_path_factory.mktemp('latency') / 'full'
    proc = run_tool('tools/train.py', DIGITS_LATENCY, '--work-dir',
                    str(work_dir), '--cfg-options', *DIGITS_OPTIONS,
                    *EXPORT_TIMING, f'{BUDGET}.latency_table={path}',
                    f'{BUDGET}.latency_ms={bound}')
    return work_dir, proc.stdout + proc.stderr


def test_digits_export_is_within_the_latency_bound(digits_table,
                                                   digits_search):
    _, table, bound = digits_table
    work_dir, log = digits_search
    assert f'Resource budget (select): latency_ms <= {bound:.3f}' in log
    assert 'latency predicted for pytorch on cpu' in log
    lines = latency_lines(log)
    assert [epoch for epoch, _ in lines] == [0, 1, 2]
    assert all(ms <= bound for _, ms in lines)
    # the first recovery's top-2 edges exceed the bound
    assert re.search(r'after epoch 0: [^\n]*nodes changed by the budget',
                     log)
    assert_predicted(log, table, work_dir / 'genotypes')
    exported = Genotype.from_json(work_dir / 'export' / 'genotype.json')
    predicted = table.predict(edges_of_genotype(exported))
    assert predicted <= bound
    # the export's record of it
    record = json.loads((work_dir / 'export' / 'latency.json').read_text())
    assert record['predicted_ms'] == pytest.approx(predicted)
    assert record['budget_ms'] == bound


def test_resumed_search_reads_its_table_back(tmp_path):
    """Interrupted after epoch 1 (a binding params bound, a loose latency
    one: a table measured here may put any bound out of reach): the
    resumed run reads the table the first part measured from its
    checkpoint (the work dir's copy deleted), and ends where an
    uninterrupted run with that table does."""
    params = binding_bound(DIGITS_NET, 'params')
    options = [
        *DIGITS_OPTIONS, *EXPORT_TIMING, f'{BUDGET}.latency_ms={LOOSE_MS}',
        f'{BUDGET}.params={params}'
    ]
    parts = tmp_path / 'parts'
    first = run_tool('tools/train.py', DIGITS_LATENCY, '--work-dir',
                     str(parts), '--cfg-options', *options, *MEASURED,
                     'train_cfg.max_epochs=1')
    saved = parts / 'latency_table.json'
    measured = json.loads(saved.read_text())
    saved.unlink()
    second = run_tool('tools/train.py', DIGITS_LATENCY, '--work-dir',
                      str(parts), '--resume', '--cfg-options', *options,
                      *MEASURED)
    logs = [proc.stdout + proc.stderr for proc in (first, second)]
    assert 'Latency table measured with pytorch on cpu' in logs[0]
    assert f'Latency table saved to {saved}' in logs[0]
    assert 'resumed epoch: 1' in logs[1]
    assert 'Latency table of the resumed run read from its checkpoint' in \
        logs[1]
    assert 'Latency table measured' not in logs[1]
    assert json.loads(saved.read_text()) == measured
    table = LatencyTable.load(str(saved))
    assert (table.notes['warmup'], table.notes['repeats']) == (1, 2)
    for log in logs:
        assert_predicted(log, table, parts / 'genotypes')
    # uninterrupted, with that table as a file
    full = tmp_path / 'full'
    proc = run_tool('tools/train.py', DIGITS_LATENCY, '--work-dir',
                    str(full), '--cfg-options', *options,
                    f'{BUDGET}.latency_table={saved}')
    full_log = proc.stdout + proc.stderr
    assert 'nodes changed by the budget' in full_log
    # the same decisions, recovery by recovery (the resumed run recovers
    # from epoch 1's b again, as the first part did when it ended)
    parted = latency_lines(logs[0]) + latency_lines(logs[1])
    assert sorted(set(parted)) == latency_lines(full_log)
    parted = budget_lines(logs[0]) + budget_lines(logs[1])
    assert sorted(set(parted)) == budget_lines(full_log)
    assert Genotype.from_json(parts / 'export' / 'genotype.json') == \
        Genotype.from_json(full / 'export' / 'genotype.json')


def test_twostage_bounds_params_and_latency_of_the_network(tmp_path):
    """Two-stage search: budget.network a 4-cell, C = 4 evaluation
    network, its table a file beside the config; both bounds bind."""
    network = tmp_path / 'tiny_net.py'
    network.write_text(
        f"_base_ = ['{REPO_ROOT}/configs/nets/ista_twostage_digits.py']\n"
        'model = dict(backbone=dict(channels=4, layers=4), '
        'head=dict(in_channels=64, aux_in_channels=64))\n')
    net_cfg = Config.fromfile(network).model.to_dict()
    table = measure_table(net_cfg, tmp_path / 'table.json')
    params = binding_bound(net_cfg, 'params')
    config = tmp_path / 'twostage_latency.py'
    search = ('_base_ = [{base!r}]\n'
              'model = dict(backbone=dict(channels=4, layers=3), '
              'head=dict(in_channels=64))\n').format(base=TWOSTAGE_DIGITS)
    config.write_text(search)
    first = table.predict(edges_of_genotype(first_recovery(str(config))))
    latency = latency_bound(net_cfg, table, first)
    config.write_text(search +
                      'train_dataloader = dict(batch_size=16, '
                      'dataset=dict(dataset=dict(indices=96)))\n'
                      'arch_dataloader = dict(batch_size=16, '
                      'dataset=dict(dataset=dict(indices=96)))\n'
                      'val_dataloader = dict(dataset=dict(indices=32))\n'
                      'train_cfg = dict(max_epochs=2, val_interval=2)\n'
                      "custom_hooks = [dict(type='ArchitectureRecoveryHook', "
                      f'budget=dict(params={params}, latency_ms={latency}, '
                      "latency_table='table.json', "
                      f'network={str(network)!r}))]\n')
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', str(config), '--work-dir', str(work_dir))
    log = proc.stdout + proc.stderr
    assert (f'params <= {params:,}, latency_ms <= {latency:.3f} on '
            f'{network_description(net_cfg)}') in log
    counted = budget_lines(log)
    lines = latency_lines(log)
    assert len(counted) == len(lines) == 3
    assert all(p <= params for _, p, _ in counted)
    assert all(ms <= latency for _, ms in lines)
    assert re.search(r'after epoch 0: [^\n]*nodes changed by the budget',
                     log)
    exported = Genotype.from_json(work_dir / 'genotype.json')
    assert table.predict(edges_of_genotype(exported)) <= latency


def test_two_processes_measure_one_table(tmp_path):
    """tools/dist_train.sh, 2 gloo processes: rank 0 measures the table when
    the search starts and every rank uses it; a binding params bound
    beside a loose latency one, so every recovery selects under both."""
    params = binding_bound(DIGITS_NET, 'params')
    work_dir = tmp_path / 'work'
    proc = run_launcher(tmp_path, 'tools/dist_train.sh', DIGITS_LATENCY, '2',
                        '--work-dir', str(work_dir), '--cfg-options',
                        *DIGITS_OPTIONS, *MEASURED, *EXPORT_TIMING,
                        f'{BUDGET}.latency_ms={LOOSE_MS}',
                        f'{BUDGET}.params={params}')
    log = proc.stdout + proc.stderr
    assert log.count('Latency table measured with pytorch on cpu') == 1
    tables = sorted(work_dir.rglob('latency_table*'))
    assert tables == [work_dir / 'latency_table.json']
    table = LatencyTable.load(str(tables[0]))
    assert table.network == network_description(DIGITS_NET)
    assert 'channels=4, layers=4' in table.network
    assert (table.device.runtime, table.device.threads) == ('pytorch', 1)
    assert (table.notes['warmup'], table.notes['repeats']) == (1, 2)
    counted = budget_lines(log)
    assert [epoch for epoch, _, _ in counted] == [0, 1, 2]
    assert all(p <= params for _, p, _ in counted)
    assert all(ms <= LOOSE_MS for _, ms in latency_lines(log))
    assert 'nodes changed by the budget' in log
    assert_predicted(log, table, work_dir / 'genotypes')
    # every rank installed the same budgeted genotype after every recovery
    ranks = [(work_dir / 'genotypes' / f'rank{r}.txt').read_text()
             for r in (0, 1)]
    assert ranks[0] == ranks[1] and ranks[0].count('epoch ') == 3


def test_mobile_latency_config_at_tiny_scale(imagenet_root,  # noqa: F811
                                             tmp_path):
    """The ImageNet mobile latency config, 4 cells of C = 8 at 224x224:
    its multiply-adds and its latency (a table of that network; a bound
    its first recovery exceeds) within their bounds."""
    net_cfg = exported_cfg(MOBILE_LATENCY, dict(channels=8, layers=4),
                           dict(in_channels=128, aux_in_channels=128))
    flops = binding_bound(net_cfg, 'flops')
    table = measure_table(net_cfg, tmp_path / 'table.json')
    first = table.predict(
        edges_of_genotype(first_recovery(MOBILE_LATENCY, MOBILE_MODEL)))
    latency = latency_bound(net_cfg, table, first)
    data = []
    for loader in ('train_dataloader', 'val_dataloader'):
        data += [
            f'{loader}.dataset.data_root={imagenet_root}',
            f'{loader}.batch_size=4', f'{loader}.num_workers=0'
        ]
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', MOBILE_LATENCY, '--work-dir',
                    str(work_dir), '--cfg-options', *data, *MOBILE_MODEL,
                    *EXPORT_TIMING,
                    'train_cfg.max_epochs=2',
                    'train_cfg.stages.termination.max_search_epochs=1',
                    'train_cfg.stages.export.check_learned=False',
                    'train_cfg.stages.phase_switch.eval_epochs=1',
                    f'{BUDGET}.flops={flops}',
                    f'{BUDGET}.latency_ms={latency}',
                    f'{BUDGET}.latency_table={tmp_path / "table.json"}')
    log = proc.stdout + proc.stderr
    assert f'flops <= {flops:,}, latency_ms <= {latency:.3f}' in log
    assert 'at 224x224' in log
    counted = budget_lines(log)
    lines = latency_lines(log)
    assert counted and len(counted) == len(lines)
    assert all(f <= flops for _, _, f in counted)
    assert all(ms <= latency for _, ms in lines)
    assert 'nodes changed by the budget' in log
    exported = Genotype.from_json(work_dir / 'export' / 'genotype.json')
    assert table.predict(edges_of_genotype(exported)) <= latency


@pytest.mark.parametrize('config, published', [
    (DIGITS_LATENCY, 'ista_onestage_cifar10'),
    (MOBILE_LATENCY, 'ista_onestage_imagenet'),
])
def test_shipped_tables_fit_their_configs(config, published):
    """The latency table each config names is found beside it, was built
    for the network the search exports and corrected on whole networks,
    and the bound lies between the cheapest network the table allows and
    the published cell of that network."""
    import os.path as osp

    from mmista.analysis.latency_measurement import derived_network_cfg
    from mmista.structures import PUBLISHED_GENOTYPES
    cfg = Config.fromfile(config)
    budget = cfg.train_cfg.stages.recovery.budget
    table = LatencyTable.load(
        osp.join(osp.dirname(config), budget.latency_table))
    model_cfg = derived_network_cfg(cfg)
    assert table.network == network_description(model_cfg)
    assert table.doubts() == []
    assert table.method.startswith('ops+')
    costs = measure_edge_costs(model_cfg).with_latency(table)
    cheapest, _ = reachable_ends(costs, 'latency_ms')
    published_ms = table.predict(
        edges_of_genotype(PUBLISHED_GENOTYPES[published]))
    assert cheapest < budget.latency_ms < published_ms


def test_measure_latency_table_switch_measures_where_the_search_runs(
        tmp_path):
    """``--measure-latency-table`` on the shipped digits config: the table
    is measured here, for the network the run searches (not the shipped
    table's), with the shipped table's runtime, threads, batch and
    timings; a loose bound (a table measured here may put the shipped
    bound out of reach of a tiny network)."""
    work_dir = tmp_path / 'work'
    proc = run_tool('tools/train.py', DIGITS_LATENCY, '--work-dir',
                    str(work_dir), '--measure-latency-table',
                    '--cfg-options', *DIGITS_OPTIONS, *EXPORT_TIMING,
                    f'{BUDGET}.latency_ms={LOOSE_MS}',
                    'train_cfg.max_epochs=1')
    log = proc.stdout + proc.stderr
    assert (f'--measure-latency-table: {BUDGET}.latency_table: measured on '
            "this machine when the search starts (runtime='onnxruntime'"
            ) in proc.stderr
    assert 'Latency table measured with onnxruntime on cpu' in log
    table = LatencyTable.load(str(work_dir / 'latency_table.json'))
    assert table.network == network_description(DIGITS_NET)
    shipped = LatencyTable.load(
        f'{REPO_ROOT}/configs/latency_tables/'
        'onestage_digits_onnxruntime_1thread.json')
    assert table.network != shipped.network
    assert (table.device.runtime, table.device.threads,
            table.device.batch) == ('onnxruntime', 1, 1)
    assert (table.notes['warmup'], table.notes['repeats']) == (
        shipped.notes['warmup'], shipped.notes['repeats'])
    assert_predicted(log, table, work_dir / 'genotypes')


def test_measure_latency_table_switch_without_a_latency_budget(tmp_path):
    proc = run_tool('tools/train.py',
                    f'{REPO_ROOT}/configs/ista/onestage_digits_budget.py',
                    '--work-dir', str(tmp_path / 'work'),
                    '--measure-latency-table', check=False)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'error: --measure-latency-table: this config has no latency budget')
    assert not (tmp_path / 'work').exists()
