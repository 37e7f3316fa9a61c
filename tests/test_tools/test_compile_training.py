# Copyright (c) mmista contributors. All rights reserved.
"""tools/train.py --compile: mmengine's ``cfg.compile`` over mmista's
search step, its wrappers and hooks (the eager backend: the graph capture,
its breaks and recompilations, no code generation)."""
import glob
import json
import math

import pytest

from ..utils import ONESTAGE_DIGITS, TINY_ONESTAGE, run_tool

pytestmark = pytest.mark.compile


def test_onestage_search_trains_compiled(tmp_path):
    proc = run_tool('tools/train.py', ONESTAGE_DIGITS, '--work-dir',
                    str(tmp_path), '--compile', 'eager', '--no-validate',
                    '--cfg-options', *TINY_ONESTAGE)
    assert 'Model has been "compiled"' in proc.stdout + proc.stderr
    [scalars] = glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json'))
    with open(scalars) as file:
        losses = [
            record['loss'] for record in map(json.loads, file)
            if 'loss' in record
        ]
    assert len(losses) == 6  # a search epoch and an evaluation epoch
    assert all(math.isfinite(loss) for loss in losses)
    assert glob.glob(str(tmp_path / 'export' / '*'))
