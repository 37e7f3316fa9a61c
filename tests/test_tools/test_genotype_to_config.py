# Copyright (c) mmista contributors. All rights reserved.
"""tools/genotype_to_config.py writes names from outside as literals: a
folder name cannot add code to the config that every later training run
executes."""
import ast
import os
import os.path as osp

from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmista.registry import MODELS
from mmista.structures import Genotype, get_genotype
from ..utils import DIGITS_EVAL_CONFIG, run_tool

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
