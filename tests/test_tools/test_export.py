# Copyright (c) mmista contributors. All rights reserved.
"""An exported one-stage model is a first-class mmpretrain model, in a
fresh Python process."""
import json
import textwrap

import cv2
import pytest

from mmista.datasets import load_digit_images
from ..utils import ONESTAGE_DIGITS, TINY_ONESTAGE, run_tool


@pytest.fixture
def search_dir(onestage_search_dir):
    return onestage_search_dir


def test_exported_model_in_mmpretrain(search_dir, tmp_path):
    export = search_dir / 'export'
    image = tmp_path / 'digit.png'
    images, labels = load_digit_images()
    cv2.imwrite(str(image), images[-1][..., ::-1])
    script = textwrap.dedent(f"""
        import json
        from mmpretrain import ImageClassificationInferencer, get_model
        model = get_model({str(export / 'config.py')!r},
                          pretrained={str(export / 'model.pth')!r})
        inferencer = ImageClassificationInferencer(
            {str(export / 'config.py')!r},
            pretrained={str(export / 'model.pth')!r}, device='cpu')
        result = inferencer({str(image)!r})[0]
        print()
        print('RESULT', json.dumps(dict(
            backbone=type(model.backbone).__name__,
            label=int(result['pred_label']),
            score=float(result['pred_score']))))
    """)
    proc = run_tool('-c', script)
    lines = [line for line in proc.stdout.splitlines()
             if line.startswith('RESULT ')]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(lines[-1][len('RESULT '):])
    assert result['backbone'] == 'DerivedNet'
    assert 0 <= result['label'] < 10 and 0. < result['score'] <= 1.

    metrics = tmp_path / 'metrics.json'
    run_tool('tools/test.py', str(export / 'config.py'),
             str(export / 'model.pth'), '--work-dir', str(tmp_path / 't'),
             '--cfg-options', 'test_dataloader.dataset.indices=64', '--out',
             str(metrics))
    assert 0. <= json.loads(metrics.read_text())['accuracy/top1'] <= 100.


def test_export_tool_on_a_mid_run_checkpoint(search_dir, tmp_path):
    out = tmp_path / 'export'
    proc = run_tool('tools/export_backbone.py', ONESTAGE_DIGITS,
                    str(search_dir / 'epoch_1.pth'), '--out', str(out),
                    '--cfg-options', *TINY_ONESTAGE, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [
        'config.py', 'genotype.json', 'genotype_normal.png',
        'genotype_reduce.png', 'model.pth'
    ]
    assert 'Test it with: python tools/test.py' in proc.stdout


def test_export_tool_rejects_a_foreign_checkpoint(search_dir, tmp_path):
    proc = run_tool('tools/export_backbone.py', ONESTAGE_DIGITS,
                    str(search_dir / 'epoch_1.pth'), '--out',
                    str(tmp_path / 'x'), check=False)
    assert proc.returncode != 0
    assert 'does not fit' in proc.stderr
