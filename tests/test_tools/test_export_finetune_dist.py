# Copyright (c) mmista contributors. All rights reserved.
"""An export fine-tuned in two gloo processes through tools/dist_train.sh
with configs/ista/finetune_export.py: plain DDP, the export's backbone
weights on both ranks, a checkpoint and a validation accuracy."""
import json
import textwrap
from pathlib import Path

import cv2
import torch
from mmengine.config import Config

from mmista.datasets import load_digit_images
from mmista.models.genotype_record import GENOTYPE_META
from ..test_dist.test_rank_consistency import run_launcher
from ..utils import REPO_ROOT

CLASSES = 5
PER_CLASS = {'train': 4, 'val': 2}

RECORDER = textwrap.dedent('''
    """Saves each rank's model wrapper and backbone weights when training
    starts (after the Pretrained init_cfg has loaded them)."""
    import os

    import torch
    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper

    from mmista.registry import HOOKS


    @HOOKS.register_module()
    class LoadedBackboneRecorder(Hook):

        def __init__(self, out_dir):
            self.out_dir = out_dir

        def before_train(self, runner):
            model = runner.model
            wrapper = type(model).__name__
            if is_model_wrapper(model):
                model = model.module
            state = {k: v.detach().clone()
                     for k, v in model.backbone.state_dict().items()}
            torch.save(dict(wrapper=wrapper, backbone=state),
                       os.path.join(self.out_dir, f'rank{get_rank()}.pth'))
''')


def write_image_folder(root: Path) -> None:
    """``train/digit_<c>/*.png`` and ``val/digit_<c>/*.png``: the embedded
    digits of the first classes as 32x32 files."""
    images, labels = load_digit_images()
    for label in range(CLASSES):
        indices = iter((labels == label).nonzero()[0])
        for split, count in PER_CLASS.items():
            folder = root / split / f'digit_{label}'
            folder.mkdir(parents=True)
            for _ in range(count):
                i = next(indices)
                cv2.imwrite(str(folder / f'{i}.png'), images[i][..., ::-1])


def write_finetune_config(tmp_path: Path, export: Path, data: Path) -> str:
    """The shipped fine-tune config with its export and data paths pointed
    here, and a small run on top: one epoch, images read from files before
    the export's own pipelines, the recorder hook."""
    text = (Path(REPO_ROOT) / 'configs/ista/finetune_export.py').read_text()
    for old, new in (("'../../work_dirs/custom/export/config.py'",
                      export / 'config.py'),
                     ("'work_dirs/custom/export/model.pth'",
                      export / 'model.pth'), ("'data/other'", data)):
        assert old in text
        text = text.replace(old, repr(str(new)))
    (tmp_path / 'finetune.py').write_text(text)

    exported = Config.fromfile(export / 'config.py').to_dict()
    load = [dict(type='LoadImageFromFile')]
    hooks = exported.get('custom_hooks', []) + [
        dict(type='LoadedBackboneRecorder', out_dir=str(tmp_path / 'states'))
    ]
    (tmp_path / 'states').mkdir()
    (tmp_path / 'loaded_backbone_recorder.py').write_text(RECORDER)
    config = tmp_path / 'finetune_tiny.py'
    config.write_text(
        "_base_ = ['./finetune.py']\n"
        "custom_imports = dict(imports=['mmista', 'loaded_backbone_recorder'],"
        ' allow_failed_imports=False)\n'
        f'custom_hooks = {hooks!r}\n'
        'train_dataloader = dict(batch_size=10, num_workers=0, dataset=dict('
        f"pipeline={load + exported['train_pipeline']!r}))\n"
        'val_dataloader = dict(batch_size=5, num_workers=0, dataset=dict('
        f"pipeline={load + exported['test_pipeline']!r}))\n"
        'test_dataloader = val_dataloader\n'
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        'param_scheduler = dict(T_max=1)\n'
        'default_hooks = dict(logger=dict(interval=1))\n')
    return str(config)


def test_two_process_finetune_of_an_export(onestage_search_dir, tmp_path):
    export = onestage_search_dir / 'export'
    data = tmp_path / 'data'
    write_image_folder(data)
    config = write_finetune_config(tmp_path, export, data)
    work = tmp_path / 'work'
    proc = run_launcher(tmp_path, 'tools/dist_train.sh', config, '2',
                        '--work-dir', str(work))
    log = proc.stdout + proc.stderr
    assert 'search_step' not in log

    # both ranks trained the export's backbone under mmengine's plain DDP
    exported = torch.load(export / 'model.pth')['state_dict']
    assert exported['head.fc.weight'].shape[0] == 10
    for rank in (0, 1):
        loaded = torch.load(tmp_path / 'states' / f'rank{rank}.pth')
        assert loaded['wrapper'] == 'MMDistributedDataParallel'
        assert loaded['backbone'].keys() == {
            k[len('backbone.'):]
            for k in exported if k.startswith('backbone.')
        }
        for key, value in loaded['backbone'].items():
            assert torch.equal(value, exported[f'backbone.{key}']), key

    # one epoch of 20 images (10 a rank), its checkpoint and validation
    checkpoint = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['state_dict']['head.fc.weight'].shape[0] == CLASSES
    # GenotypeCheckpointHook, kept in the export, records the genotype
    assert checkpoint['meta'][GENOTYPE_META] == torch.load(
        export / 'model.pth')['meta'][GENOTYPE_META]
    scalars = next(work.glob('*/vis_data/scalars.json'))
    val = [
        json.loads(line) for line in scalars.read_text().splitlines()
        if 'accuracy/top1' in line
    ]
    assert len(val) == 1 and 0. <= val[0]['accuracy/top1'] <= 100.
    assert 'Epoch(train) [1][1/1]' in log
