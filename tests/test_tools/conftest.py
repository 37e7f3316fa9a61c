# Copyright (c) mmista contributors. All rights reserved.
"""Runs several test modules read: each made once per session (tests copy
a run's folder before they change anything in it)."""
import pytest
from mmengine.registry import init_default_scope

from mmista.apis import export_search_model
from mmista.registry import MODELS
from ..utils import (DIGITS_EVAL_CONFIG, ONE_EPOCH, ONESTAGE_DIGITS, REPO_ROOT,
                     TINY_ONESTAGE, run_tool, tiny_config)


@pytest.fixture(scope='module')
def tiny_export(tmp_path_factory):
    """An export folder of an untrained tiny one-stage super-net (4 cells
    of C = 4), made in seconds without a run."""
    folder = tmp_path_factory.mktemp('tiny_export')
    cfg = tiny_config(
        folder / 'work', config=f'{REPO_ROOT}/configs/ista/onestage_digits.py')
    init_default_scope('mmista')
    model = MODELS.build(cfg.model).eval()
    export_search_model(model, cfg, str(folder / 'export'))
    return folder / 'export'


@pytest.fixture(scope='session')
def one_epoch_dir(tmp_path_factory):
    """The work dir of one epoch of the tiny digits network."""
    work_dir = tmp_path_factory.mktemp('one_epoch')
    run_tool('tools/train.py', DIGITS_EVAL_CONFIG, '--work-dir',
             str(work_dir), '--cfg-options', *ONE_EPOCH)
    return work_dir


@pytest.fixture(scope='session')
def onestage_search_dir(tmp_path_factory):
    """The work dir of the tiny one-stage digits search (one search epoch,
    one evaluation epoch), with its export."""
    work_dir = tmp_path_factory.mktemp('onestage_search')
    run_tool('tools/train.py', ONESTAGE_DIGITS, '--work-dir', str(work_dir),
             '--cfg-options', *TINY_ONESTAGE)
    return work_dir
