# Copyright (c) mmista contributors. All rights reserved.
"""Checking that a config's data folders exist before a run starts."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config

#: Sub-folders some datasets need under their ``data_root``.
_REQUIRED_SUBDIRS = {
    'CIFAR10': 'cifar-10-batches-py',
    'CIFAR100': 'cifar-100-python',
}
_LOADERS = ('train_dataloader', 'arch_dataloader', 'val_dataloader',
            'test_dataloader')


def missing_data(cfg: Config,
                 loaders: Sequence[str] = _LOADERS) -> Optional[str]:
    """Finds the first dataset whose data folder is not there.

    Follows dataset wrappers (``KFoldDataset``, ``RepeatDataset``...)
    through their ``dataset`` key.

    Args:
        cfg (Config): The run's config.
        loaders (Sequence[str]): Dataloader keys to check.

    Returns:
        str | None: A message naming the key, the folder and what to do,
        or None when every folder exists.
    """
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        dataset, key = loader_cfg.get('dataset'), f'{loader}.dataset'
        while isinstance(dataset, dict):
            root = dataset.get('data_root')
            if root:
                subdir = _REQUIRED_SUBDIRS.get(dataset.get('type'))
                folder = osp.join(root, subdir) if subdir else root
                if not osp.isdir(folder):
                    return (f'{key}.data_root: the folder {folder} does not '
                            f'exist ({dataset.get("type")}; nothing is '
                            'downloaded at run time). Put the data there, or '
                            f'point --cfg-options {key}.data_root=PATH at '
                            'it.')
            dataset, key = dataset.get('dataset'), f'{key}.dataset'
    return None
