# Copyright (c) mmista contributors. All rights reserved.
"""Which evaluation config retrains a searched genotype as the network that
was searched (``tools/genotype_to_config.py``).

The cells of a genotype name a network only with the search-space variant
recorded beside them (:class:`~mmista.structures.SearchSpaceVariant`): a
base config whose ``DerivedNet`` has another ``bn_append``, stem or image
channels trains another network under the same cells.
"""
import inspect
import os.path as osp
from typing import Any, Dict, Optional, Sequence, Tuple

from mmengine.config import Config

from mmista.errors import ConfigError
from mmista.models import DerivedNet
from mmista.structures import (NETWORK_KEYS, SearchSpaceVariant,
                               train_dataset_type)
from mmista.structures.search_space_variant import NETWORK_KEY_MEANINGS

#: ``DerivedNet``'s defaults, for what a base config leaves out.
_DERIVED_DEFAULTS = {
    key: inspect.signature(DerivedNet).parameters[key].default
    for key in NETWORK_KEYS
}


#: The evaluation configs of ``configs/nets/`` a recorded variant picks
#: from, in order of preference when none trains on the search's dataset:
#: the paper's CIFAR-10 and ImageNet settings, then the digits at CPU size.
SHIPPED_BASE_NAMES = ('ista_onestage_cifar10.py', 'ista_twostage_cifar10.py',
                      'ista_onestage_imagenet.py', 'ista_onestage_digits.py',
                      'ista_twostage_digits.py')


def shipped_bases(nets_dir: str) -> Tuple[str, ...]:
    """The paths of :data:`SHIPPED_BASE_NAMES` in ``nets_dir``."""
    return tuple(osp.join(nets_dir, name) for name in SHIPPED_BASE_NAMES)


class VariantMismatchError(ConfigError):
    """A base config builds another search-space variant than the one a
    genotype was searched in."""


def shown_path(path: str) -> str:
    """``path`` relative to the working directory when it lies under it."""
    relative = osp.relpath(osp.abspath(path))
    return path if relative.startswith('..') else relative


def base_network_keys(cfg: Config) -> Dict[str, Any]:
    """The variant keys of a config's backbone.

    Args:
        cfg (Config): An evaluation config (``model.backbone`` a
            ``DerivedNet``).

    Returns:
        dict: ``bn_append``, ``stem`` and ``in_channels`` of
        ``model.backbone``, ``DerivedNet``'s defaults where it sets none.
    """
    backbone = (cfg.get('model') or {}).get('backbone') or {}
    return {
        key: backbone.get(key, default)
        for key, default in _DERIVED_DEFAULTS.items()
    }


def variant_mismatches(variant: SearchSpaceVariant,
                       cfg: Config) -> Dict[str, Tuple[Any, Any]]:
    """The variant keys a base config builds otherwise than recorded.

    Args:
        variant (SearchSpaceVariant): The genotype's record.
        cfg (Config): The base config.

    Returns:
        dict[str, tuple]: ``key: (recorded, base)`` per differing key.
    """
    base = base_network_keys(cfg)
    return {
        key: (value, base[key])
        for key, value in variant.network_keys.items() if base[key] != value
    }


def _meaning(key: str, value) -> str:
    return f'{key}={value!r} ({NETWORK_KEY_MEANINGS[key]})'


def check_base(variant: SearchSpaceVariant, base: str, cfg: Config,
               source: str, suggestion: Optional[str]) -> None:
    """Refuses a base that builds another variant than recorded.

    Args:
        variant (SearchSpaceVariant): The genotype's record.
        base (str): The base config's path, for the message.
        cfg (Config): The base config.
        source (str): Where the genotype came from, for the message.
        suggestion (str, optional): A base that matches, if one does.

    Raises:
        VariantMismatchError: Naming both values of every differing key,
            ``--base`` and ``--allow-variant-mismatch``.
    """
    mismatches = variant_mismatches(variant, cfg)
    if not mismatches:
        return
    recorded = ', '.join(f'model.backbone.{_meaning(key, values[0])}'
                         for key, values in mismatches.items())
    built = ', '.join(f'{key}={values[1]!r}'
                      for key, values in mismatches.items())
    needed = ', '.join(f'{key}={values[0]!r}'
                       for key, values in mismatches.items())
    instead = (f'leave out --base to use {shown_path(suggestion)}, '
               if suggestion else '')
    raise VariantMismatchError(
        f'the genotype {source} was searched with {recorded}, but the base '
        f'{shown_path(base)} builds model.backbone {built}: another network '
        f'than the one searched; {instead}pass --base a config whose '
        f'model.backbone sets {needed}, or add --allow-variant-mismatch to '
        "train the base's variant anyway")


def pick_base(variant: SearchSpaceVariant,
              bases: Sequence[str]) -> Tuple[str, str]:
    """The first base that builds the recorded variant, preferring one that
    trains on the search's dataset.

    Args:
        variant (SearchSpaceVariant): The genotype's record.
        bases (Sequence[str]): Candidate evaluation configs, in order of
            preference when none trains on the search's dataset.

    Returns:
        tuple[str, str]: The base's path and why it was picked.

    Raises:
        VariantMismatchError: No base builds the variant.
    """
    matching = []
    for base in bases:
        cfg = Config.fromfile(base)
        if not variant_mismatches(variant, cfg):
            matching.append((base, train_dataset_type(cfg)))
    if not matching:
        raise VariantMismatchError(
            f'no shipped evaluation config builds model.backbone '
            f'{variant.describe()} (the genotype\'s search space); pass '
            '--base a config whose model.backbone sets them')
    searched = variant.dataset
    same_data = [item for item in matching if item[1] == searched]
    base, dataset = (same_data or matching)[0]
    searched_by = ' '.join(
        part for part in (f'by {variant.supernet}' if variant.supernet else '',
                          f'on {searched}' if searched else '') if part)
    reason = (f'its model.backbone builds {variant.describe()}, the '
              f'variant recorded with the genotype (searched {searched_by})'
              if searched_by else
              f'its model.backbone builds {variant.describe()}, the variant '
              'recorded with the genotype')
    if same_data:
        reason += f', and it trains on {dataset}'
    elif searched:
        reason += (f'; no shipped base trains on {searched}: this one trains '
                   f'on {dataset}, set its data keys for yours')
    return base, reason
