# Copyright (c) mmista contributors. All rights reserved.
"""A sparse coding with fewer non-zeros than edges is reported, does not
terminate a node, and stops a run that stays degenerate."""
import pytest
import torch

from mmista.architecture import CompressedArchitecture
from mmista.errors import ConfigError
from mmista.registry import MODELS
from mmista.structures import CELL_TYPES
from ..utils import ONESTAGE_DIGITS, TINY_ONESTAGE, run_tool

LAM = 1e-5


def recovered(zero_b: bool, lam: float = LAM) -> CompressedArchitecture:
    architecture = CompressedArchitecture(seed=0)
    if zero_b:
        with torch.no_grad():
            for b in architecture.compressed.values():
                b.zero_()
    architecture.recover(lam=lam)
    return architecture


def test_degenerate_nodes_and_the_lam_that_zeroes_z():
    healthy = recovered(zero_b=False)
    for cell in CELL_TYPES:
        assert healthy.degenerate_nodes(cell) == [False] * 4
        bounds = healthy.zero_solution_lams(cell)
        for j, (A, b) in enumerate(
                zip(healthy.dictionaries(cell),
                    healthy.compressed_vectors(cell).detach())):
            assert bounds[j] == pytest.approx(
                float((A.T @ b.double()).abs().max()), rel=1e-12)
            assert bounds[j] > LAM
    # just above a node's bound its z is all zero, below it is not
    for cell in CELL_TYPES:
        bounds = healthy.zero_solution_lams(cell)
        node = bounds.index(min(bounds))
        above = recovered(zero_b=False, lam=bounds[node] * 1.01)
        assert above.degenerate_nodes(cell)[node]
        assert not torch.any(getattr(above, f'{cell}_z')[node])
        below = recovered(zero_b=False, lam=bounds[node] * 0.9)
        assert torch.any(getattr(below, f'{cell}_z')[node])
    zero = recovered(zero_b=True)
    for cell in CELL_TYPES:
        assert zero.degenerate_nodes(cell) == [True] * 4
        assert zero.zero_solution_lams(cell) == [0.] * 4


@pytest.mark.parametrize('lam', ['a', -1., 0., float('inf'), True])
def test_lam_is_checked_when_the_model_is_built(lam):
    with pytest.raises(ConfigError, match='model.backbone.lam: lam must be'):
        MODELS.build(dict(type='mmista.ISTASuperNet', channels=4, layers=3,
                          lam=lam))


def test_a_run_that_stays_degenerate_stops_without_export(tmp_path):
    # A guard of 0 lets a node terminate at the first recovery: a zero z
    # (zero shift) would have terminated every node after epoch 1.
    proc = run_tool('tools/train.py', ONESTAGE_DIGITS, '--work-dir',
                    str(tmp_path), '--cfg-options', *TINY_ONESTAGE,
                    'train_cfg.stages.termination.max_search_epochs=5',
                    'train_cfg.stages.export.check_learned=False',
                    'train_cfg.stages.termination.min_search_iters=0',
                    'train_cfg.stages.recovery.max_degenerate_recoveries=2',
                    'model.backbone.lam=1e6', check=False)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith('error: ')]
    assert len(errors) == 1
    assert errors[0].startswith(
        'error: the sparse coding was degenerate at 2 recoveries in a row '
        '(up to epoch 1): nodes normal 0 (max|A^T b| ')
    assert 'set model.backbone.lam below ' in errors[0]
    assert log.count('Degenerate sparse coding after epoch 0 (1 in a row, '
                     'the run stops at 2)') == 1
    assert 'terminated after epoch' not in log
    assert not (tmp_path / 'export').exists()
