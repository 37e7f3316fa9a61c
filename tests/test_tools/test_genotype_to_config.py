# Copyright (c) mmista contributors. All rights reserved.
"""tools/genotype_to_config.py writes names from outside as literals: a
folder name cannot add code to the config that every later training run
executes. It retrains a genotype as the network that was searched: the base
builds the search-space variant genotype.json records."""
import ast
import os
import os.path as osp
import runpy

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmista.cli import (VariantMismatchError, check_base, pick_base,
                        shown_path, variant_mismatches)
from mmista.registry import MODELS
from mmista.structures import (Genotype, SearchSpaceVariant, get_genotype,
                               read_search_space)
from ..utils import DIGITS_EVAL_CONFIG, REPO_ROOT, run_tool

# Would create the folder $PWNED if it ran.
CODE = '__import__("os").mkdir(__import__("os").environ["PWNED"])'
HOSTILE = dict(
    newline_code=f'evil\n{CODE}\n#',
    carriage_return=f'cr\r{CODE}\r#',
    quotes='it\'s "quoted" \'\'\' """ \'); ',
    backslashes='back\\slash\\n\\\\ \\x41 \\',
    unicode='ünïcødé 数据 \u2028\u2029\x0b\x0c end',
    # mmengine substitutes these in a config's text before parsing it
    templates='{{ fileDirname }} {{$PWNED:x}} {{ _base_.model }} {{{',
)


def test_hostile_folder_names_stay_literals(tmp_path, monkeypatch):
    pwned = tmp_path / 'pwned'
    monkeypatch.setenv('PWNED', str(pwned))
    names = list(HOSTILE.values())
    # one folder per name (a name is at most 255 bytes)
    source = tmp_path.joinpath('genotype', *names)
    source.mkdir(parents=True)
    genotype = get_genotype('ista_onestage_cifar10')
    genotype.to_json(source / 'genotype.json')
    base = tmp_path.joinpath('base', *reversed(names), 'base.py')
    base.parent.mkdir(parents=True)
    base.write_text(f'_base_ = [{DIGITS_EVAL_CONFIG!r}]\n')
    out = tmp_path.joinpath('out', HOSTILE['quotes'], HOSTILE['unicode'],
                            'eval.py')

    proc = run_tool('tools/genotype_to_config.py', str(source), '--base',
                    str(base), '--out', str(out))
    assert 'Backbone parameters:' in proc.stdout
    assert not pwned.exists()

    text = out.read_text(encoding='utf-8')
    tree = ast.parse(text)
    # two statements, nothing else: _base_ = [...] and model = dict(...)
    assert [type(node) for node in tree.body] == [ast.Assign, ast.Assign]
    assert [node.targets[0].id for node in tree.body] == ['_base_', 'model']
    # no raw line break (nor a template) from a name is in the file
    lines = text.split('\n')
    assert all(line.startswith(('#', '_base_', 'model', ' ')) or not line
               for line in lines)
    for character in '\r\u2028\u2029\x0b\x0c':
        assert character not in text
    assert '{{' not in text
    header = [line for line in lines if line.startswith('#')]
    assert len(header) == 3
    # the written names are the real ones: _base_ resolves to the base
    written_base = ast.literal_eval(tree.body[0].value)[0]
    assert osp.samefile(osp.join(out.parent, written_base), base)
    assert repr(str(source / 'genotype.json')).replace(
        '{{', '{\\x7b') in header[2]

    exec(compile(tree, str(out), 'exec'), {'__builtins__': {}}, {
        'dict': dict})  # only literals and dict(): nothing else to call
    cfg = Config.fromfile(str(out))
    assert Genotype.from_json(cfg.model.backbone.genotype) == genotype
    init_default_scope('mmista')
    MODELS.build(cfg.model.backbone)
    assert not pwned.exists()
    assert os.listdir(out.parent) == ['eval.py']  # written atomically


# The search-space variant: the base that builds it is picked, another one
# refused (docs/en/user_guides/retrain_genotype.md).
GENOTYPE_TO_CONFIG = osp.join(REPO_ROOT, 'tools', 'genotype_to_config.py')
NETS = osp.join(REPO_ROOT, 'configs', 'nets')


def variant(**changes) -> SearchSpaceVariant:
    """A one-stage digits search's record, with ``changes``."""
    return SearchSpaceVariant(**dict(
        dict(bn_append=True, pool_bn=True, stem='cifar', affine=True,
             supernet='ISTASuperNet', channels=8, layers=5,
             dataset='DigitsDataset'), **changes))


@pytest.mark.parametrize('changes, base, why', [
    (dict(), 'ista_onestage_digits.py', 'and it trains on DigitsDataset'),
    (dict(bn_append=False, affine=False), 'ista_twostage_digits.py',
     'and it trains on DigitsDataset'),
    (dict(dataset='CIFAR10'), 'ista_onestage_cifar10.py',
     'and it trains on CIFAR10'),
    (dict(dataset='CIFAR10', bn_append=False), 'ista_twostage_cifar10.py',
     'and it trains on CIFAR10'),
    (dict(dataset='ImageNet', stem='imagenet'), 'ista_onestage_imagenet.py',
     'and it trains on ImageNet'),
    (dict(dataset='CustomDataset'), 'ista_onestage_cifar10.py',
     'no shipped base trains on CustomDataset: this one trains on CIFAR10'),
    (dict(dataset=None, supernet=None), 'ista_onestage_cifar10.py',
     "builds bn_append=True, stem='cifar', in_channels=3, the variant "
     'recorded with the genotype'),
])
def test_the_shipped_base_of_each_variant(changes, base, why):
    tool = runpy.run_path(GENOTYPE_TO_CONFIG, run_name='genotype_to_config')
    record = variant(**changes)
    picked, reason = pick_base(record, tool['SHIPPED_BASES'])
    assert picked == osp.join(NETS, base)
    assert why in reason
    assert not variant_mismatches(record, Config.fromfile(picked))


@pytest.mark.parametrize('name, base', [
    ('ista_onestage_cifar10', 'ista_onestage_cifar10.py'),
    ('ista_onestage_imagenet', 'ista_onestage_imagenet.py'),
    ('ista_twostage_cifar10', 'ista_twostage_cifar10.py'),
    ('darts_v2', 'ista_twostage_cifar10.py'),
    ('pc_darts', 'ista_twostage_cifar10.py'),
])
def test_a_published_name_picks_its_papers_variant(name, base):
    """The published one-stage cells retrain with BatchNorm-appended ops,
    the others without, each on its paper's stem and dataset."""
    tool = runpy.run_path(GENOTYPE_TO_CONFIG, run_name='genotype_to_config')
    record = read_search_space(name)
    assert record.bn_append == name.startswith('ista_onestage')
    picked, _ = pick_base(record, tool['SHIPPED_BASES'])
    assert picked == osp.join(NETS, base)
    assert not variant_mismatches(record, Config.fromfile(picked))


def test_a_variant_no_shipped_base_builds():
    tool = runpy.run_path(GENOTYPE_TO_CONFIG, run_name='genotype_to_config')
    with pytest.raises(VariantMismatchError, match='no shipped evaluation '
                       "config builds model.backbone bn_append=False, "
                       "stem='imagenet', in_channels=3"):
        pick_base(variant(bn_append=False, stem='imagenet'),
                  tool['SHIPPED_BASES'])


def test_export_record_picks_the_onestage_base(onestage_search_dir, tmp_path):
    export = onestage_search_dir / 'export'
    searched = variant(channels=4, layers=4)  # TINY_ONESTAGE's size
    assert read_search_space(str(export / 'genotype.json')) == searched
    # the recovery hook's files record it as well
    assert read_search_space(
        str(onestage_search_dir / 'genotype.json')) == searched
    assert read_search_space(
        str(onestage_search_dir / 'genotypes' / 'epoch_0.json')) == searched

    out = tmp_path / 'eval_config.py'
    proc = run_tool('tools/genotype_to_config.py', str(export), '--out',
                    str(out))
    assert ('Picked the base configs/nets/ista_onestage_digits.py: its '
            "model.backbone builds bn_append=True, stem='cifar', "
            'in_channels=3, the variant recorded with the genotype '
            '(searched by ISTASuperNet on DigitsDataset), and it trains on '
            'DigitsDataset') in proc.stdout
    cfg = Config.fromfile(str(out))
    assert cfg.model.backbone.bn_append is True
    assert Genotype.from_json(cfg.model.backbone.genotype) == \
        Genotype.from_json(export / 'genotype.json')


def test_a_base_of_another_variant_is_refused(onestage_search_dir, tmp_path):
    source = onestage_search_dir / 'export' / 'genotype.json'
    out = tmp_path / 'eval_config.py'
    args = ('tools/genotype_to_config.py', str(source), '--base',
            'configs/nets/ista_twostage_digits.py', '--out', str(out))
    proc = run_tool(*args, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: the genotype {source} was searched with '
        'model.backbone.bn_append=True (a BatchNorm appended to the '
        'parameter-free ops), but the base '
        'configs/nets/ista_twostage_digits.py builds model.backbone '
        'bn_append=False: another network than the one searched; leave out '
        '--base to use configs/nets/ista_onestage_digits.py, pass --base a '
        'config whose model.backbone sets bn_append=True, or add '
        "--allow-variant-mismatch to train the base's variant anyway")
    assert 'Traceback' not in proc.stderr
    assert not out.exists()

    proc = run_tool(*args, '--allow-variant-mismatch')
    assert ('Warning (--allow-variant-mismatch): the base builds '
            'model.backbone bn_append=False, the genotype was searched with '
            'bn_append=True') in proc.stdout
    assert Config.fromfile(str(out)).model.backbone.bn_append is False


def test_a_genotype_without_a_record_keeps_the_default(tmp_path):
    old = tmp_path / 'genotype.json'
    get_genotype('ista_onestage_cifar10').to_json(old)  # cells only
    out = tmp_path / 'eval_config.py'
    proc = run_tool('tools/genotype_to_config.py', str(old), '--out',
                    str(out))
    assert (f'The search-space variant of {old} is unknown (DARTS text or '
            'a genotype.json without a record): using '
            'the base configs/nets/ista_twostage_cifar10.py '
            "(model.backbone.bn_append=False, stem='cifar'); pass --base for "
            'another') in proc.stdout
    cfg = Config.fromfile(str(out))
    assert cfg.model.backbone.bn_append is False
    assert Genotype.from_json(cfg.model.backbone.genotype) == get_genotype(
        'ista_onestage_cifar10')


def test_every_differing_key_is_named():
    base = osp.join(NETS, 'ista_twostage_digits.py')
    with pytest.raises(VariantMismatchError) as error:
        check_base(variant(stem='imagenet'), base, Config.fromfile(base),
                   'genotype.json', None)
    assert str(error.value) == (
        'the genotype genotype.json was searched with '
        'model.backbone.bn_append=True (a BatchNorm appended to the '
        "parameter-free ops), model.backbone.stem='imagenet' (the stem), but "
        f'the base {shown_path(base)} builds model.backbone bn_append=False, '
        "stem='cifar': another network than the one searched; pass --base a "
        "config whose model.backbone sets bn_append=True, stem='imagenet', "
        "or add --allow-variant-mismatch to train the base's variant anyway")
