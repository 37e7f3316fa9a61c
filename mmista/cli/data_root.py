# Copyright (c) mmista contributors. All rights reserved.
"""Pointing every dataset of a config at one data folder (``--data-root``).

A config may name its data folder under several keys: the two-stage
searches read the train split through ``train_dataloader`` and
``arch_dataloader`` (each through a ``KFoldDataset``) and validate on
``val_dataloader``/``test_dataloader``."""
from typing import List, Sequence

from mmengine.config import Config

from mmista.errors import ConfigError
from .data_check import config_datasets

#: The dataloaders whose datasets ``--data-root`` moves.
DATALOADERS = ('train_dataloader', 'arch_dataloader', 'val_dataloader',
               'test_dataloader')


def set_data_root(cfg: Config,
                  data_root: str,
                  loaders: Sequence[str] = DATALOADERS) -> List[str]:
    """Sets ``data_root`` in every dataset of the config that has one.

    Follows dataset wrappers (``KFoldDataset``, ``RepeatDataset``...)
    through their ``dataset`` key; datasets without a ``data_root`` key
    (the embedded digits) are left alone.

    Args:
        cfg (Config): The run's config, changed in place.
        data_root (str): The folder to read the data from.
        loaders (Sequence[str]): Dataloader keys. Defaults to
            :data:`DATALOADERS`.

    Returns:
        list[str]: The keys set, e.g.
        ``['train_dataloader.dataset.dataset.data_root', ...]``.

    Raises:
        ConfigError: No dataset of the config has a ``data_root``.
    """
    keys = []
    for key, dataset in config_datasets(cfg, loaders):
        if 'data_root' in dataset:
            dataset['data_root'] = data_root
            keys.append(f'{key}.data_root')
    if not keys:
        raise ConfigError(
            f'--data-root {data_root}: no dataset of this config has a '
            f'data_root (in {", ".join(loaders)}); its data is not read '
            'from a folder')
    return keys
