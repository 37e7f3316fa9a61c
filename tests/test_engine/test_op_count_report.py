# Copyright (c) mmista contributors. All rights reserved.
"""Every recovery of a one-stage search reports its genotype's op counts:
a log line, visualizer scalars and, at the end, ``op_counts.png``, whose
history survives a resume."""
import json

import pytest
from mmengine.runner import Runner

from mmista.engine.hooks.architecture_recovery_hook import OP_COUNTS_FILE
from mmista.engine.hooks.genotype_files import op_count_scalars
from mmista.engine.search_state import OP_COUNT_HISTORY
from mmista.structures import Genotype, count_ops, describe_op_counts
from ..utils import ONESTAGE_DIGITS, logged_records, tiny_config

SEARCH_CAP = 2


def search_config(work_dir, max_epochs):
    """The tiny one-stage digits search: 2 search epochs, 1 evaluation
    epoch, stopped after ``max_epochs`` epochs."""
    cfg = tiny_config(work_dir, ONESTAGE_DIGITS)
    cfg.experiment_name = f'op_counts_{work_dir.name}'  # one per runner
    cfg.param_scheduler = dict(weights=[], architecture=[])
    cfg.merge_from_dict({
        'train_cfg.max_epochs': max_epochs,
        'train_cfg.stages.termination.max_search_epochs': SEARCH_CAP,
        'train_cfg.stages.phase_switch.eval_epochs': 1,
        'train_cfg.stages.export.check_learned': False,
    })
    return cfg


def train(cfg):
    """Trains; returns the runner and every logged message."""
    runner = Runner.from_cfg(cfg)
    with logged_records(runner.logger) as records:
        runner.train()
    return runner, [r.getMessage() for r in records]


def scalar_records(work_dir):
    scalars = next(work_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for line in scalars.read_text().splitlines()]


def genotype(work_dir, epoch):
    return Genotype.from_json(work_dir / 'genotypes' / f'epoch_{epoch}.json')


@pytest.fixture(scope='module')
def interrupted_and_resumed(tmp_path_factory):
    """A search stopped after epoch 1, and its resumption in another work
    dir from the checkpoint of epoch 1."""
    first = tmp_path_factory.mktemp('first')
    first_run = train(search_config(first, max_epochs=1))
    resumed = tmp_path_factory.mktemp('resumed')
    cfg = search_config(resumed, max_epochs=SEARCH_CAP + 1)
    cfg.resume = True
    cfg.load_from = str(first / 'epoch_1.pth')
    return (first, *first_run), (resumed, *train(cfg))


def check_run(work_dir, messages, epochs):
    """The log lines and scalars of the recoveries after ``epochs``."""
    records = scalar_records(work_dir)
    for epoch in epochs:
        counts = count_ops(genotype(work_dir, epoch))
        line = f'Op counts (epoch {epoch}): {describe_op_counts(counts)}'
        assert messages.count(line) == 1, line
        recorded = [r for r in records
                    if r['step'] == epoch and 'arch/ops_normal_skip' in r]
        assert len(recorded) == 1, epoch
        expected = op_count_scalars(counts)
        assert {k: recorded[0][k] for k in expected} == expected
    assert sorted(r['step'] for r in records
                  if 'arch/ops_reduce_pool' in r) == list(epochs)


def test_each_recovery_logs_and_sends_its_op_counts(interrupted_and_resumed):
    (first, _, first_messages), (resumed, _, messages) = \
        interrupted_and_resumed
    # the initial recovery and the one after the run's only epoch
    check_run(first, first_messages, [0, 1])
    # the resumed run recovers after epoch 1 again (its checkpoint was
    # saved before that recovery), then after epoch 2 (the cap)
    check_run(resumed, messages, [1, 2])
    assert any(m.startswith('Plotted the op counts per recovery')
               for m in messages)


def test_resumed_plot_has_the_whole_history(interrupted_and_resumed):
    (first, first_runner, _), (resumed, runner, _) = interrupted_and_resumed
    for work_dir in (first, resumed):
        assert (work_dir / OP_COUNTS_FILE).read_bytes()[:4] == b'\x89PNG'
    assert [r['epoch'] for r in first_runner.message_hub.get_info(
        OP_COUNT_HISTORY)] == [0, 1]
    history = runner.message_hub.get_info(OP_COUNT_HISTORY)
    assert [r['epoch'] for r in history] == [0, 1, 2]
    # epoch 0 came with the checkpoint from the first run
    assert history[0] == dict(epoch=0, **count_ops(genotype(first, 0)))
    for record in history[1:]:
        assert record == dict(
            epoch=record['epoch'],
            **count_ops(genotype(resumed, record['epoch'])))
