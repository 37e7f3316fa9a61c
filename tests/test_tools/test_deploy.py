# Copyright (c) mmista contributors. All rights reserved.
"""tools/deployment/convert.py: ONNX and torch.export forms of derived
networks agree with PyTorch on real images, at any batch size."""
import json

import cv2
import onnxruntime
import pytest
import skimage.data
import torch
from mmengine.config import Config

from mmista.apis.deploy import (DeployableClassifier, load_classifier,
                                write_onnx)
from mmista.registry import MODELS
from ..utils import REPO_ROOT, run_tool

DIGITS = f'{REPO_ROOT}/configs/ista/onestage_digits.py'
IMAGENET_NET = f'{REPO_ROOT}/configs/nets/ista_onestage_imagenet.py'
# A 4-cell, C = 4 search on 96 digits: 1 search epoch, 1 of evaluation.
SEARCH = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64', 'train_dataloader.batch_size=32',
    'train_dataloader.dataset.indices=96', 'val_dataloader.dataset.indices=64',
    'train_cfg.max_epochs=2', 'train_cfg.val_interval=2',
    'train_cfg.stages.termination.max_search_epochs=1',
    'train_cfg.stages.export.check_learned=False',
    'train_cfg.stages.phase_switch.eval_epochs=1'
]


@pytest.fixture(scope='module')
def digits_export(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('deploy') / 'work'
    run_tool('tools/train.py', DIGITS, '--work-dir', str(work_dir),
             '--cfg-options', *SEARCH)
    return work_dir / 'export'


def checks(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_agree(report, formats=('onnx', 'torch_export')):
    seen = {(c['format'], c['batch']) for c in report['checks']}
    assert {f for f, _ in seen} == set(formats)
    assert len({b for _, b in seen}) == 2  # a batch and one image alone
    for check in report['checks']:
        assert check['max_rel_diff'] <= 1e-4, check


def test_digits_export_converts(digits_export, tmp_path):
    proc = run_tool('tools/deployment/convert.py', str(digits_export), '--out',
                    str(tmp_path))
    report = checks(proc)
    assert_agree(report)
    assert 'onnx: batch 4, largest |difference|' in proc.stdout
    # the files load on their own, with a batch size never seen before
    images = torch.rand(3, 3, 32, 32) * 255
    module = DeployableClassifier(
        load_classifier(
            str(digits_export / 'config.py'),
            str(digits_export / 'model.pth')))
    with torch.no_grad():
        reference = module(images)
    session = onnxruntime.InferenceSession(report['paths']['onnx'])
    onnx_out = torch.from_numpy(
        session.run(None, {'images': images.numpy()})[0])
    program = torch.export.load(report['paths']['torch_export'])
    with torch.no_grad():
        export_out = program.module()(images)
    scale = float(reference.abs().max())
    assert onnx_out.shape == reference.shape == (3, 10)
    assert float((onnx_out - reference).abs().max()) <= 1e-4 * scale
    assert float((export_out - reference).abs().max()) <= 1e-4 * scale


def test_convert_times_the_written_models(digits_export, tmp_path):
    proc = run_tool('tools/deployment/convert.py', str(digits_export), '--out',
                    str(tmp_path), '--time', '--warmup', '1', '--repeats',
                    '5', '--time-batch', '3')
    timings = checks(proc)['timings']
    assert set(timings) == {'onnx', 'torch_export'}
    for name, timing in timings.items():
        assert timing['count'] == 5
        assert 0 < timing['median_ms'] <= timing['p90_ms']
        assert f'{name} (' in proc.stdout and 'batch 3): median' in proc.stdout
    assert 'onnx (onnxruntime, cpu' in proc.stdout


def test_normalisation_inside_matches_the_preprocessor(digits_export):
    model = load_classifier(
        str(digits_export / 'config.py'), str(digits_export / 'model.pth'))
    images = (torch.rand(2, 3, 32, 32) * 255).round()
    with torch.no_grad():
        inputs = model.data_preprocessor(
            dict(inputs=list(images.to(torch.uint8))))['inputs']
        expected = model(inputs, mode='tensor')
        got = DeployableClassifier(model)(images)
    torch.testing.assert_close(got, expected)


def test_imagenet_stem_network_converts(tmp_path):
    config = tmp_path / 'net.py'
    config.write_text(f'_base_ = [{IMAGENET_NET!r}]\n'
                      'model = dict(backbone=dict(channels=8, layers=4), '
                      'head=dict(in_channels=128, '
                      'aux_in_channels=128))\n')
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    photos = []
    for name in ('astronaut', 'coffee', 'chelsea'):
        path = tmp_path / f'{name}.jpg'
        cv2.imwrite(str(path), getattr(skimage.data, name)()[..., ::-1])
        photos.append(str(path))
    proc = run_tool('tools/deployment/convert.py', '--config', str(config),
                    '--checkpoint', str(checkpoint), '--out',
                    str(tmp_path / 'out'), '--images', *photos)
    report = checks(proc)
    assert_agree(report)
    assert 'onnx: batch 3' in proc.stdout


def test_arguments_are_checked(tmp_path):
    proc = run_tool('tools/deployment/convert.py', check=False)
    assert proc.returncode != 0
    assert 'give an export folder, or --config and --checkpoint' in \
        proc.stderr
    proc = run_tool('tools/deployment/convert.py', str(tmp_path), check=False)
    assert proc.returncode != 0 and 'config.py' in proc.stderr


def test_write_onnx_exports_eval_and_leaves_every_mode(tmp_path):
    """A wrapper in training mode around a network in eval mode (as
    DeployableClassifier is): the file computes the eval network at any
    batch size, and afterwards each module has its own mode again."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    net[1].running_mean.uniform_(-1, 1)
    wrapper = torch.nn.Sequential(net)
    assert wrapper.training and not net[1].training
    path = str(tmp_path / 'model.onnx')
    write_onnx(wrapper, torch.rand(2, 3, 8, 8), path)
    assert wrapper.training
    assert not any(m.training for m in net.modules())
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    images = torch.rand(5, 3, 8, 8)
    [logits] = session.run(None, {'images': images.numpy()})
    with torch.no_grad():
        expected = net(images)
    torch.testing.assert_close(
        torch.from_numpy(logits), expected, rtol=1e-4, atol=1e-5)
