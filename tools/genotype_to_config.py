# Copyright (c) mmista contributors. All rights reserved.
"""Turn a searched genotype into an evaluation config for tools/train.py.

Example::

    python tools/genotype_to_config.py work_dirs/search/genotype.json \\
        --base configs/nets/ista_twostage_cifar10.py \\
        --out work_dirs/search/eval_config.py
    python tools/train.py work_dirs/search/eval_config.py
"""
import argparse
import json
import os.path as osp
import shlex

from mmengine.analysis import parameter_count
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import exit_if_missing, reported_errors
from mmista.fileio import atomic_write_text
from mmista.registry import MODELS
from mmista.structures import Genotype, GenotypeError, get_genotype

DEFAULT_BASE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'nets',
    'ista_twostage_cifar10.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write an evaluation config that retrains a genotype')
    parser.add_argument(
        'genotype',
        help='a search work dir (its genotype.json is used), a genotype '
        'JSON file, or a published genotype name')
    parser.add_argument(
        '--base',
        default=DEFAULT_BASE,
        help='evaluation config to inherit (network size, data, schedule); '
        'defaults to configs/nets/ista_twostage_cifar10.py')
    parser.add_argument(
        '--out',
        help='config file to write; defaults to eval_config.py beside the '
        'genotype file')
    return parser.parse_args()


def resolve_genotype_source(source: str) -> str:
    """Maps a work directory to its ``genotype.json``."""
    if osp.isdir(source):
        path = osp.join(source, 'genotype.json')
        exit_if_missing(path, 'genotype')
        return path
    return source


def base_reference(base: str, out: str) -> str:
    """How the written config names its base: relative to the config when
    both lie under a common directory other than the root (e.g. the
    repository), else absolute."""
    base, out_dir = osp.abspath(base), osp.dirname(osp.abspath(out))
    if osp.commonpath([base, out_dir]) == osp.sep:
        return base
    return osp.relpath(base, out_dir)


def python_string(text: str) -> str:
    """``text`` as a Python string literal that is safe in a config file.

    ``repr`` escapes newlines, quotes and backslashes, so the literal never
    ends early or spans lines; ``{{`` is written ``{\\x7b``, so mmengine's
    ``{{ fileDirname }}``, ``{{ $VAR }}`` and ``{{ _base_.x }}`` templates,
    which it substitutes in the file's text before parsing, never match a
    name taken from outside.

    Args:
        text (str): A path or any text from the command line.

    Returns:
        str: The literal, quotes included (valid in code and in a comment).
    """
    return repr(str(text)).replace('{{', '{\\x7b')


def config_text(genotype_json: str, base: str, out: str,
                source: str) -> str:
    """The evaluation config: the base config with the genotype set.

    The genotype is written as JSON text (one line per field), which
    ``DerivedNet`` reads like a published name or a dict, and which
    replaces the base's genotype whatever form that one has. Every string
    from outside (paths, the genotype) is written as a literal by
    :func:`python_string`, comments included: no name can add a line or a
    statement to the config.

    Args:
        genotype_json (str): The genotype, from ``Genotype.to_json``.
        base (str): Path of the base config.
        out (str): Path the config is written to.
        source (str): Where the genotype came from, for the header.

    Returns:
        str: Python config text.
    """
    fields = json.loads(genotype_json)
    parts = [f'{json.dumps(key)}: {json.dumps(value)}'
             for key, value in fields.items()]
    pieces = ['{' + parts[0]] + parts[1:]
    lines = [
        python_string(piece + (', ' if i < len(pieces) - 1 else '}'))
        for i, piece in enumerate(pieces)
    ]
    genotype = '(\n' + '\n'.join(' ' * 12 + line for line in lines) + ')'
    return ('# Written by tools/genotype_to_config.py: the evaluation config\n'
            f'# {python_string(base)} with the genotype from\n'
            f'# {python_string(source)}.\n'
            f'_base_ = [{python_string(base_reference(base, out))}]\n\n'
            f'model = dict(\n    backbone=dict(\n        genotype={genotype}))'
            '\n')


def read_genotype(source: str) -> Genotype:
    """The genotype of a published name, a JSON file or DARTS text.

    Args:
        source (str): The name, path or text.

    Returns:
        Genotype: The genotype.

    Raises:
        GenotypeError: It cannot be found, read or validated.
    """
    try:
        return get_genotype(source)
    except (GenotypeError, KeyError, FileNotFoundError) as error:
        text = error.args[0] if error.args else type(error).__name__
        raise GenotypeError(
            f'cannot read the genotype {source!r}: {text}') from error


def main():
    args = parse_args()
    exit_if_missing(args.base, 'base config')
    source = resolve_genotype_source(args.genotype)
    with reported_errors():
        genotype = read_genotype(source)
        out = args.out or osp.join(
            osp.dirname(osp.abspath(source)) if osp.isfile(source) else '.',
            'eval_config.py')
        atomic_write_text(
            out, config_text(genotype.to_json(), args.base, out, source))

        cfg = Config.fromfile(out)
        init_default_scope(cfg.get('default_scope', 'mmista'))
        backbone = MODELS.build(cfg.model.backbone)
    params = parameter_count(backbone)['']
    print(f'Wrote {out}: {args.base} with genotype {genotype}')
    print(f'Backbone parameters: {params} ({params / 1e6:.2f}M)')
    print(f'Train it with: python tools/train.py {shlex.quote(out)}')


if __name__ == '__main__':
    main()
