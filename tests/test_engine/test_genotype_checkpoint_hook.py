# Copyright (c) mmista contributors. All rights reserved.
"""Checkpoints of a derived network record its genotype, and one saved
from a genotype that differs only by pool type (same parameter names and
shapes) is refused instead of loading silently."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmista.fileio.checkpoint_loading import CheckpointError
from mmista.models.genotype_record import derived_genotype
from mmista.registry import MODELS
from mmista.structures import PUBLISHED_GENOTYPES, Genotype
from ..crafted_checkpoints import pool_swapped
from ..utils import REPO_ROOT, tiny_config

SAVED = PUBLISHED_GENOTYPES['ista_onestage_cifar10']


SWAPPED = pool_swapped(SAVED)


def runner_with(work_dir, genotype=None, **backbone) -> Runner:
    cfg = tiny_config(work_dir, validate=False)
    cfg.train_cfg.max_epochs = 1
    cfg.experiment_name = '-'.join(work_dir.parts[-2:])  # one per runner
    if genotype is not None:
        cfg.model.backbone.genotype = genotype.to_dict()
    cfg.model.backbone.update(backbone)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('derived')
    runner_with(work_dir).train()
    return work_dir / 'epoch_1.pth'


def test_checkpoints_record_the_genotype(trained):
    meta = torch.load(str(trained), weights_only=True)['meta']
    assert Genotype.from_dict(meta['genotype']) == SAVED


def test_pool_swapped_network_refuses_the_checkpoint(trained, tmp_path):
    runner = runner_with(tmp_path, SWAPPED)
    # same names and shapes: only the recorded genotype tells them apart
    saved_state = torch.load(str(trained), weights_only=True)['state_dict']
    assert {k: v.shape for k, v in saved_state.items()} == {
        k: v.shape for k, v in runner.model.state_dict().items()}
    with pytest.raises(CheckpointError) as error:
        runner.load_checkpoint(str(trained))
    message = str(error.value)
    assert f'saved from the genotype {SAVED}' in message
    assert f'the model of this config has the genotype {SWAPPED}' in message
    assert 'they differ at normal node' in message
    runner_with(tmp_path / 'same').load_checkpoint(str(trained))


def test_checkpoint_without_a_genotype_still_loads(trained, tmp_path):
    checkpoint = torch.load(str(trained), weights_only=True)
    del checkpoint['meta']['genotype']
    older = tmp_path / 'older.pth'
    torch.save(checkpoint, str(older))
    runner = runner_with(tmp_path, SWAPPED)
    runner.load_checkpoint(str(older))
    weight = next(iter(checkpoint['state_dict']))
    assert torch.equal(runner.model.state_dict()[weight],
                       checkpoint['state_dict'][weight])


def test_pretrained_init_of_another_genotype_is_refused(trained, tmp_path):
    init_cfg = dict(
        type='Pretrained', checkpoint=str(trained), prefix='backbone.')
    with pytest.raises(CheckpointError, match='saved from the genotype'):
        runner_with(tmp_path / 'swapped', SWAPPED, init_cfg=init_cfg).train()
    runner = runner_with(tmp_path / 'same', init_cfg=init_cfg)
    runner.train()
    assert (tmp_path / 'same' / 'epoch_1.pth').is_file()


def test_search_models_have_no_genotype_to_check():
    init_default_scope('mmista')
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/ista/onestage_digits.py')
    assert derived_genotype(MODELS.build(cfg.model)) is None
