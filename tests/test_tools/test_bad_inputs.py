# Copyright (c) mmista contributors. All rights reserved.
"""Bad input stops a tool before any work with one ``error:`` line that
names the key or file at fault, a non-zero exit and no traceback.

Every case runs the tool as a user types it. To add one, append a row to
:data:`BAD_INPUTS` (and, if it needs a file, make it in :func:`inputs`);
the arguments and the expected fragment may name ``{root}`` (the files
made once for the module), ``{work}`` (the case's own folder) and the
configs of :data:`CONFIGS`.
"""
import json
from typing import List, NamedTuple

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmista.registry import MODELS
from mmista.structures import get_genotype
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, TINY_TRAIN_OPTIONS, run_tool

CONFIGS = dict(
    digits=DIGITS_EVAL_CONFIG,
    onestage=f'{REPO_ROOT}/configs/ista/onestage_digits.py',
    twostage=f'{REPO_ROOT}/configs/ista/twostage_digits.py')

# The digits demo search at 4 cells of C = 4 on 96 digits, one epoch of
# search and one of training: seconds, if a case wrongly starts.
TINY_ONESTAGE = [
    'model.backbone.channels=4', 'model.backbone.layers=4',
    'model.head.in_channels=64',
    'model.head.aux_in_channels=64', 'train_dataloader.dataset.indices=96',
    'val_dataloader.dataset.indices=64', 'train_cfg.max_epochs=2',
    'train_cfg.stages.termination.max_search_epochs=1',
    'train_cfg.stages.export.check_learned=False',
    'train_cfg.stages.phase_switch.eval_epochs=1'
]
TINY_TWOSTAGE = [
    'model.backbone.channels=4', 'model.backbone.layers=3',
    'model.head.in_channels=64', 'train_cfg.max_epochs=1',
    'train_dataloader.dataset.dataset.indices=96',
    'arch_dataloader.dataset.dataset.indices=96',
    'val_dataloader.dataset.indices=64'
]


def train_digits(*options: str) -> List[str]:
    """tools/train.py on the tiny digits network with ``options``."""
    return [
        'tools/train.py', '{digits}', '--work-dir', '{work}',
        '--cfg-options', *TINY_TRAIN_OPTIONS, *options
    ]


def train_onestage(*options: str) -> List[str]:
    """tools/train.py on the tiny one-stage search with ``options``."""
    return [
        'tools/train.py', '{onestage}', '--work-dir', '{work}',
        '--cfg-options', *TINY_ONESTAGE, *options
    ]


def genotype_to_config(name: str) -> List[str]:
    """tools/genotype_to_config.py on ``{root}/genotype/<name>.json``."""
    return [
        'tools/genotype_to_config.py', f'{{root}}/genotype/{name}.json',
        '--base', '{digits}', '--out', '{work}/eval_config.py'
    ]


def evaluate_on(folder: str, checkpoint: str = 'two_classes') -> List[str]:
    """tools/test.py: a two-class checkpoint on ``{root}/<folder>``."""
    return [
        'tools/test.py', '{root}/two_classes.py',
        f'{{root}}/{checkpoint}.pth',
        '--work-dir', '{work}', '--cfg-options',
        f'test_dataloader.dataset.data_root={{root}}/{folder}'
    ]


class BadInput(NamedTuple):
    """One row: what the user runs and what the error line must say."""

    id: str
    args: List[str]
    fragment: str


#: Genotype files made by :func:`inputs`: fields of the one-stage CIFAR-10
#: genotype replaced by bad values (every kind of bad value is checked in
#: tests/test_structures/test_genotype.py; here each tool's report).
BAD_GENOTYPES = dict(
    edges_per_node_text=dict(edges_per_node='2'),
    index_true=dict(normal_first=['sep_conv_3x3', True]),
)

# One case per kind of bad input and tool; each costs a process start
# (about 6 s of CPU). The other values of a kind (0, -1, 2.5, '8') are
# checked in-process in tests/test_cli/test_config_check.py.
BAD_INPUTS = [
    # genotypes: tools/genotype_to_config.py, and DerivedNet in train.py
    BadInput('genotype-edges-per-node-"2"', genotype_to_config(
        'edges_per_node_text'), "cannot read the genotype '{root}/genotype/"
        "edges_per_node_text.json': edges_per_node: expected an integer >= 1 "
        "(the inputs kept per intermediate node, usually 2), got str '2'"),
    BadInput('genotype-index-true', train_digits(
        'model.backbone.genotype={root}/genotype/index_true.json'),
        'model.backbone.genotype (DerivedNet): normal[0]: input bool True is '
        'not valid for intermediate node 0 (allowed: integers 0..1)'),
    # run length and batches
    BadInput('max-epochs-minus-1-onestage', train_onestage(
        'train_cfg.max_epochs=-1'), 'train_cfg.max_epochs must be an integer '
        '>= 1 (the epochs to train), got int -1'),
    BadInput('eval-epochs-0', train_onestage(
        'train_cfg.stages.phase_switch.eval_epochs=0'),
        'train_cfg.stages.phase_switch.eval_epochs must be an integer >= 1'),
    BadInput('max-search-epochs-2.5', train_onestage(
        'train_cfg.stages.termination.max_search_epochs=2.5'),
        'train_cfg.stages.termination.max_search_epochs must be an integer '
        '>= 1'),
    BadInput('batch-size-0', train_digits('train_dataloader.batch_size=0'),
             'train_dataloader.batch_size must be an integer >= 1'),
    BadInput('batch-size-"8"', [
        'tools/train.py', '{root}/batch_size_text.py', '--work-dir', '{work}',
        '--cfg-options', *[
            option for option in TINY_TRAIN_OPTIONS
            if not option.startswith('train_dataloader.batch_size')
        ]
    ], "train_dataloader.batch_size must be an integer >= 1 (images per "
        "batch and process), got str '8'"),
    BadInput('arch-batch-size-minus-1', [
        'tools/train.py', '{twostage}', '--work-dir', '{work}',
        '--cfg-options', *TINY_TWOSTAGE, 'arch_dataloader.batch_size=-1'
    ], 'arch_dataloader.batch_size must be an integer >= 1'),
    # the sparse coding's l1 weight
    BadInput('lam-minus-1', train_onestage('model.backbone.lam=-1'),
             'model.backbone.lam: lam must be a positive finite number, got '
             '-1.0; the paper uses 1e-5'),
    BadInput('lam-text', train_onestage('model.backbone.lam=a'),
             "model.backbone.lam: lam must be a real number, got str 'a'"),
    # classes
    BadInput('num-classes-5-of-10', train_digits('model.head.num_classes=5'),
             'model.head.num_classes=5 is below the 10 classes of '
             'train_dataloader.dataset: labels 5..9 have no output; set '
             'model.head.num_classes=10'),
    BadInput('test-zero-byte-image', evaluate_on('zero_byte'),
             'test_dataloader.dataset: cannot read the image '
             '{root}/zero_byte/a/empty.png'),
    BadInput('test-three-classes-two-class-model', evaluate_on(
        'three_classes'), "test_dataloader.dataset: the 3 test classes differ "
        "from the 2 classes the checkpoint {root}/two_classes.pth was trained "
        "on (not in the checkpoint: 'c')"),
    BadInput('test-three-classes-no-class-names', evaluate_on(
        'three_classes', 'no_classes'), '{root}/three_classes/ has 3 class '
        'folders but the model has num_classes=2'),
    BadInput('test-other-class-names', evaluate_on('other_names'),
             "the 2 test classes differ from the 2 classes the checkpoint "
             "{root}/two_classes.pth was trained on (not in the test set: "
             "'b'; not in the checkpoint: 'c')"),
]


def save_images(folder, classes, per_class=2) -> None:
    """``folder/<class>/<i>.png``: 16x16 grey squares, one shade a class."""
    for label, name in enumerate(classes):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            shade = np.full((16, 16), 40 + 60 * label + 10 * i, np.uint8)
            Image.fromarray(shade).save(folder / name / f'{i}.png')


def two_class_config(root) -> str:
    """A tiny digits network for two classes, tested on an image folder."""
    pipeline = [
        dict(type='LoadImageFromFile', color_type='color'),
        dict(type='Resize', scale=(32, 32)),
        dict(type='PackInputs')
    ]
    test_dataloader = dict(
        batch_size=4,
        num_workers=0,
        dataset=dict(
            type='CustomDataset',
            data_root=str(root / 'good'),
            pipeline=pipeline),
        sampler=dict(type='DefaultSampler', shuffle=False))
    return (f'_base_ = [{DIGITS_EVAL_CONFIG!r}]\n'
            'model = dict(backbone=dict(channels=4, layers=4), '
            'head=dict(num_classes=2, in_channels=64, '
            'aux_in_channels=64))\n'
            'data_preprocessor = dict(num_classes=2)\n'
            f'test_dataloader = dict(_delete_=True, **{test_dataloader!r})\n'
            "test_evaluator = dict(type='Accuracy', topk=(1, ))\n")


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """Makes the files the cases read, once; returns the placeholders."""
    root = tmp_path_factory.mktemp('bad_inputs')
    (root / 'genotype').mkdir()
    base = get_genotype('ista_onestage_cifar10').to_dict()
    for name, change in BAD_GENOTYPES.items():
        data = dict(base, **change)
        if 'normal_first' in data:
            data['normal'] = [data.pop('normal_first')] + base['normal'][1:]
        (root / 'genotype' / f'{name}.json').write_text(json.dumps(data))

    (root / 'batch_size_text.py').write_text(
        f"_base_ = [{DIGITS_EVAL_CONFIG!r}]\n"
        "train_dataloader = dict(batch_size='8')\n")

    save_images(root / 'good', ['a', 'b'])
    for name, classes in (('zero_byte', 'ab'), ('three_classes', 'abc'),
                          ('other_names', 'ac')):
        save_images(root / name, list(classes))
    (root / 'zero_byte' / 'a' / 'empty.png').write_bytes(b'')

    config = root / 'two_classes.py'
    config.write_text(two_class_config(root))
    init_default_scope('mmista')
    model = MODELS.build(Config.fromfile(str(config)).model)
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=['a', 'b']))),
        root / 'two_classes.pth')
    torch.save(dict(state_dict=model.state_dict()), root / 'no_classes.pth')
    return dict(CONFIGS, root=str(root))


def test_the_two_class_checkpoint_tests_on_its_classes(inputs, tmp_path):
    # the test.py cases fail for their damage, not for the config
    proc = run_tool(*(arg.format(work=tmp_path, **inputs)
                      for arg in evaluate_on('good')))
    assert 'accuracy/top1' in proc.stdout + proc.stderr


@pytest.mark.parametrize('case', BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_is_one_error_line(case, inputs, tmp_path):
    places = dict(inputs, work=str(tmp_path))
    proc = run_tool(*(arg.format(**places) for arg in case.args),
                    check=False)
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith('error: ')]
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-4000:]
    assert len(errors) == 1, proc.stderr[-4000:]
    assert case.fragment.format(**places) in errors[0]
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
