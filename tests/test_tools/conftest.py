# Copyright (c) mmista contributors. All rights reserved.
import pytest
from mmengine.registry import init_default_scope

from mmista.apis import export_search_model
from mmista.registry import MODELS
from ..utils import REPO_ROOT, tiny_config


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
