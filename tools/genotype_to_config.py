# Copyright (c) mmista contributors. All rights reserved.
"""Turn a searched genotype into an evaluation config for tools/train.py.

Example::

    python tools/genotype_to_config.py work_dirs/search/genotype.json \\
        --out work_dirs/search/eval_config.py
    python tools/train.py work_dirs/search/eval_config.py

Without ``--base`` the base is the shipped evaluation config that builds the
search-space variant recorded in ``genotype.json`` (BatchNorm-appended ops,
stem, image channels), preferring one on the search's dataset; a ``--base``
that builds another variant is refused unless ``--allow-variant-mismatch``.
A published name carries the variant its paper searched it in
(``PUBLISHED_VARIANTS``); a genotype without a record (DARTS text, an older
file) gets ``configs/nets/ista_twostage_cifar10.py``.
"""
import argparse
import os.path as osp
import shlex
from typing import Optional

from mmengine.analysis import parameter_count
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import (VariantMismatchError, check_base, config_text,
                        exit_if_missing, pick_base, reported_errors,
                        shipped_bases, shown_path, variant_mismatches)
from mmista.fileio import atomic_write_text
from mmista.registry import MODELS
from mmista.structures import (Genotype, GenotypeError, SearchSpaceVariant,
                               get_genotype, read_search_space)

NETS_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'nets')
#: The base of a genotype that records no search-space variant.
DEFAULT_BASE = osp.join(NETS_DIR, 'ista_twostage_cifar10.py')
#: The evaluation configs a recorded variant picks from
#: (:data:`~mmista.cli.evaluation_base.SHIPPED_BASE_NAMES`).
SHIPPED_BASES = shipped_bases(NETS_DIR)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write an evaluation config that retrains a genotype')
    parser.add_argument(
        'genotype',
        help='a search work dir (its genotype.json is used), a genotype '
        'JSON file, or a published genotype name')
    parser.add_argument(
        '--base',
        help='evaluation config to inherit (network size, data, schedule); '
        'defaults to the shipped one of configs/nets/ that builds the '
        'search-space variant recorded in genotype.json (bn_append, stem), '
        'or configs/nets/ista_twostage_cifar10.py for a genotype without '
        'a record')
    parser.add_argument(
        '--allow-variant-mismatch',
        action='store_true',
        help='accept a --base whose model.backbone builds another '
        'search-space variant (bn_append, stem, in_channels) than the '
        'genotype records: it then trains another network than the one '
        'searched')
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


def read_variant(source: str) -> Optional[SearchSpaceVariant]:
    """The search-space variant recorded with a genotype, if any.

    Raises:
        GenotypeError: The record is not valid (naming the file).
    """
    try:
        return read_search_space(source)
    except GenotypeError as error:
        raise GenotypeError(
            f'cannot read the genotype {source!r}: {error}') from error


def choose_base(variant: Optional[SearchSpaceVariant], base: Optional[str],
                source: str, allow_mismatch: bool) -> str:
    """The base config, and a line on stdout saying why.

    Args:
        variant (SearchSpaceVariant, optional): The genotype's record.
        base (str, optional): ``--base``.
        source (str): Where the genotype came from.
        allow_mismatch (bool): ``--allow-variant-mismatch``.

    Returns:
        str: The base config's path.

    Raises:
        VariantMismatchError: ``base`` builds another variant than
            recorded (unless ``allow_mismatch``), or no shipped base
            builds it.
    """
    if variant is None:
        if base is None:
            print(f'The search-space variant of {source} is unknown ('
                  'DARTS text or a genotype.json without '
                  f'a record): using the base {shown_path(DEFAULT_BASE)} '
                  "(model.backbone.bn_append=False, stem='cifar'); pass "
                  '--base for another, e.g. configs/nets/'
                  'ista_onestage_cifar10.py for a one-stage genotype')
            return DEFAULT_BASE
        return base
    if base is None:
        base, reason = pick_base(variant, SHIPPED_BASES)
        print(f'Picked the base {shown_path(base)}: {reason}')
        return base
    cfg = Config.fromfile(base)
    if allow_mismatch:
        mismatches = variant_mismatches(variant, cfg)
        if mismatches:
            print('Warning (--allow-variant-mismatch): the base builds '
                  'model.backbone ' + ', '.join(
                      f'{key}={built!r}'
                      for key, (_, built) in mismatches.items()) +
                  ', the genotype was searched with ' + ', '.join(
                      f'{key}={recorded!r}'
                      for key, (recorded, _) in mismatches.items()))
        return base
    try:
        suggestion, _ = pick_base(variant, SHIPPED_BASES)
    except VariantMismatchError:
        suggestion = None
    check_base(variant, base, cfg, source, suggestion)
    return base


def main():
    args = parse_args()
    if args.base is not None:
        exit_if_missing(args.base, 'base config')
    source = resolve_genotype_source(args.genotype)
    with reported_errors():
        genotype = read_genotype(source)
        base = choose_base(
            read_variant(source), args.base, source,
            args.allow_variant_mismatch)
        out = args.out or osp.join(
            osp.dirname(osp.abspath(source)) if osp.isfile(source) else '.',
            'eval_config.py')
        atomic_write_text(
            out, config_text(genotype.to_json(), base, out, source))

        cfg = Config.fromfile(out)
        init_default_scope(cfg.get('default_scope', 'mmista'))
        backbone = MODELS.build(cfg.model.backbone)
    params = parameter_count(backbone)['']
    print(f'Wrote {out}: {shown_path(base)} with genotype {genotype}')
    print(f'Backbone parameters: {params} ({params / 1e6:.2f}M)')
    print(f'Train it with: python tools/train.py {shlex.quote(out)}')


if __name__ == '__main__':
    main()
