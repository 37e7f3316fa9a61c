# Copyright (c) mmista contributors. All rights reserved.
"""The search-space variant a genotype was searched in.

The cells of a genotype name a network only together with the variant of
the space they were searched in: the same cells with a BatchNorm appended
to the parameter-free ops (one-stage ISTA-NAS, ``bn_append``) have other
parameters and compute something else than without (two-stage ISTA-NAS,
DARTS), and the ImageNet stem is another network than the CIFAR one
(docs/en/method/batchnorms.md, search_space.md). A search therefore
writes the variant beside the cells, under ``"search_space"`` in
``genotype.json``; a file without it (written before the record, or by
hand) is read as before and simply has no record.
"""
import collections.abc
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from .genotype import SEARCH_SPACE_KEY, Genotype, GenotypeError

#: The stems of the DARTS-space networks.
STEMS = ('cifar', 'imagenet')

#: The ``DerivedNet`` arguments the variant fixes: a network built with
#: other values is not the network the genotype was searched as. The
#: super-net's ``pool_bn`` and ``affine`` are recorded but not among them:
#: derived networks have affine BatchNorms and no pool BatchNorm whatever
#: the super-net had (docs/en/method/batchnorms.md).
NETWORK_KEYS = ('bn_append', 'stem', 'in_channels')

#: What each network key means, for messages.
NETWORK_KEY_MEANINGS = {
    'bn_append': 'a BatchNorm appended to the parameter-free ops',
    'stem': 'the stem',
    'in_channels': 'the image channels',
}


def _check_type(name: str, value, kind: type, optional: bool = False):
    """``value`` if it is a ``kind`` (not a bool for int), else raises."""
    if value is None and optional:
        return None
    if isinstance(value, kind) and (kind is bool
                                    or not isinstance(value, bool)):
        return value
    raise GenotypeError(f'{SEARCH_SPACE_KEY}.{name}: expected {kind.__name__}'
                        f'{" or null" if optional else ""}, got '
                        f'{type(value).__name__} {value!r}')


@dataclass(frozen=True)
class SearchSpaceVariant:
    """Which variant of the DARTS search space a genotype was searched in.

    Args:
        bn_append (bool): The super-net appended an affine BatchNorm to the
            parameter-free ops (one-stage ISTA-NAS): its derived network
            has them too (``DerivedNet(bn_append=True)``).
        pool_bn (bool): The super-net followed its pools by a non-affine
            BatchNorm (two-stage and DARTS super-nets). Information only:
            derived networks have no pool BatchNorm.
        stem (str): ``'cifar'`` or ``'imagenet'``.
        in_channels (int): Image channels. Defaults to 3.
        affine (bool): The super-net's cell BatchNorms were affine.
            Information only. Defaults to False.
        supernet (str, optional): The super-net's type, e.g.
            ``'ISTASuperNet'``.
        channels (int, optional): The super-net's initial channels.
        layers (int, optional): The super-net's number of cells.
        dataset (str, optional): The type of the search's training
            dataset (the innermost one of dataset wrappers), e.g.
            ``'DigitsDataset'``.
    """

    bn_append: bool
    pool_bn: bool
    stem: str
    in_channels: int = 3
    affine: bool = False
    supernet: Optional[str] = None
    channels: Optional[int] = None
    layers: Optional[int] = None
    dataset: Optional[str] = None

    def __post_init__(self) -> None:
        for name in ('bn_append', 'pool_bn', 'affine'):
            _check_type(name, getattr(self, name), bool)
        if self.stem not in STEMS:
            raise GenotypeError(
                f'{SEARCH_SPACE_KEY}.stem: expected one of {STEMS}, got '
                f'{self.stem!r}')
        _check_type('in_channels', self.in_channels, int)
        for name in ('channels', 'layers'):
            _check_type(name, getattr(self, name), int, optional=True)
        for name in ('supernet', 'dataset'):
            _check_type(name, getattr(self, name), str, optional=True)

    @property
    def network_keys(self) -> Dict[str, Any]:
        """dict: The ``DerivedNet`` arguments of :data:`NETWORK_KEYS`."""
        return {key: getattr(self, key) for key in NETWORK_KEYS}

    def describe(self) -> str:
        """The network keys as ``key=value`` text, for messages."""
        return ', '.join(f'{key}={value!r}'
                         for key, value in self.network_keys.items())

    def to_dict(self) -> Dict[str, Any]:
        """Returns a JSON-serialisable dict of the variant."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> 'SearchSpaceVariant':
        """Builds a variant from :meth:`to_dict` output.

        Keys this version does not know are ignored (a later version may
        record more).

        Raises:
            GenotypeError: ``bn_append``, ``pool_bn`` or ``stem`` is
                missing, or a value has the wrong type.
        """
        if not isinstance(data, collections.abc.Mapping):
            raise GenotypeError(f'{SEARCH_SPACE_KEY}: expected a mapping, got '
                                f'{type(data).__name__}')
        missing = [
            key for key in ('bn_append', 'pool_bn', 'stem') if key not in data
        ]
        if missing:
            raise GenotypeError(
                f'{SEARCH_SPACE_KEY}: missing {", ".join(missing)}')
        known = cls.__dataclass_fields__
        return cls(**{key: data[key] for key in data if key in known})


#: The variant each published genotype (by its name in
#: :data:`~mmista.structures.PUBLISHED_GENOTYPES`) was searched in: the
#: one-stage ISTA-NAS cells with BatchNorm-appended ops (the authors'
#: one-stage code), the two-stage ISTA-NAS, DARTS-V2 and PC-DARTS cells
#: without; the ImageNet one-stage cell on the ImageNet stem. ``pool_bn``
#: and ``affine`` are what mmista's super-nets of each search have.
PUBLISHED_VARIANTS: Dict[str, SearchSpaceVariant] = {
    'ista_onestage_cifar10':
    SearchSpaceVariant(
        bn_append=True, pool_bn=True, stem='cifar', affine=True,
        dataset='CIFAR10'),
    'ista_onestage_imagenet':
    SearchSpaceVariant(
        bn_append=True, pool_bn=True, stem='imagenet', affine=True,
        dataset='ImageNet'),
    'ista_twostage_cifar10':
    SearchSpaceVariant(
        bn_append=False, pool_bn=True, stem='cifar', dataset='CIFAR10'),
    'darts_v2':
    SearchSpaceVariant(
        bn_append=False, pool_bn=True, stem='cifar', dataset='CIFAR10'),
    'pc_darts':
    SearchSpaceVariant(
        bn_append=False, pool_bn=True, stem='cifar', dataset='CIFAR10'),
}


def train_dataset_type(cfg: Mapping) -> Optional[str]:
    """The type of a run's training dataset, inside dataset wrappers.

    Args:
        cfg (Mapping): A run's config.

    Returns:
        str | None: ``train_dataloader.dataset``'s type, following
        ``dataset`` keys of wrappers (``KFoldDataset``...), without a scope
        prefix (``'mmpretrain.CIFAR10'`` -> ``'CIFAR10'``); None if the
        config has no such type.
    """
    dataset = (cfg.get('train_dataloader') or {}).get('dataset')
    while isinstance(dataset, Mapping) and isinstance(
            dataset.get('dataset'), Mapping):
        dataset = dataset['dataset']
    if not isinstance(dataset, Mapping):
        return None
    kind = dataset.get('type')
    return kind.split('.')[-1] if isinstance(kind, str) else None


def read_search_space(name_or_genotype) -> Optional[SearchSpaceVariant]:
    """The search-space variant recorded with a genotype, if any.

    Args:
        name_or_genotype (str | Path | dict | Genotype): What
            :func:`~mmista.structures.get_genotype` accepts: a
            ``genotype.json`` path or JSON text (whose ``"search_space"``
            is read), a dict, a published name, DARTS text or a genotype.

    Returns:
        SearchSpaceVariant | None: The record (for a published name, the
        variant its paper searched it in: :data:`PUBLISHED_VARIANTS`); None
        for what has none (DARTS text, a file written before the record).

    Raises:
        GenotypeError: The file cannot be read, or its record is not valid
            (the message names the field).
    """
    if isinstance(name_or_genotype, Genotype):
        return None
    if isinstance(name_or_genotype, str) and \
            name_or_genotype.strip() in PUBLISHED_VARIANTS:
        return PUBLISHED_VARIANTS[name_or_genotype.strip()]
    if isinstance(name_or_genotype, Mapping):
        data = name_or_genotype
    else:
        text = str(name_or_genotype).strip()
        if not (text.startswith('{') or text.endswith('.json')):
            return None
        if not text.startswith('{'):
            try:
                text = Path(text).read_text(encoding='utf-8')
            except (OSError, UnicodeDecodeError) as error:
                raise GenotypeError(
                    f'cannot read the genotype file {name_or_genotype}: '
                    f'{error}')
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise GenotypeError(f'genotype is not valid JSON: {error}')
    if not isinstance(data, Mapping) or data.get(SEARCH_SPACE_KEY) is None:
        return None
    return SearchSpaceVariant.from_dict(data[SEARCH_SPACE_KEY])
