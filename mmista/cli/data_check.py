# Copyright (c) mmista contributors. All rights reserved.
"""Checking a config's data before a run starts: the folders exist, image
folders read by mmpretrain's ``CustomDataset`` hold what the model expects,
and the classes of a dataset, read without loading it."""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import mmcv
import mmengine
from mmengine.config import Config
from mmpretrain.datasets import CustomDataset

from mmista.registry import DATASETS

#: Sub-folders some datasets need under their ``data_root``.
_REQUIRED_SUBDIRS = {
    'CIFAR10': 'cifar-10-batches-py',
    'CIFAR100': 'cifar-100-python',
}
#: What a dataset type reads under its ``data_root``, for the messages
#: (docs/en/user_guides/data_preparation.md shows the trees).
EXPECTED_TREES = {
    'CIFAR10': 'cifar-10-batches-py/{data_batch_1..data_batch_5,test_batch,'
    'batches.meta}',
    'CIFAR100': 'cifar-100-python/{train,test,meta}',
    'ImageNet': '{train,val}/<wnid>/*.JPEG and meta/{train,val}.txt',
}
_LOADERS = ('train_dataloader', 'arch_dataloader', 'val_dataloader',
            'test_dataloader')


def expected_tree(dataset: dict) -> Optional[str]:
    """The files a dataset config reads, as a path pattern.

    Args:
        dataset (dict): A dataset config.

    Returns:
        str | None: E.g. ``data/cifar10/cifar-10-batches-py/{data_batch_1..
        data_batch_5,test_batch,batches.meta}``, or None for a type without
        a fixed layout.
    """
    dataset_type = str(dataset.get('type', '')).split('.')[-1]
    root = dataset.get('data_root', '')
    if dataset_type in EXPECTED_TREES:
        return osp.join(root, EXPECTED_TREES[dataset_type])
    folder = _image_folder(dataset)
    return None if folder is None else osp.join(folder, '<class>/<image>')


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
    for key, dataset in config_datasets(cfg, loaders):
        root = dataset.get('data_root')
        if root:
            subdir = _REQUIRED_SUBDIRS.get(dataset.get('type'))
            folder = osp.join(root, subdir) if subdir else root
            if not osp.isdir(folder):
                dataset_type = str(dataset.get('type')).split('.')[-1]
                tree = expected_tree(dataset)
                reads = f' reads {tree}' if tree else ''
                return (f'{key}.data_root: the folder {folder} does not '
                        f'exist ({dataset_type}{reads}; nothing is '
                        'downloaded at run time). Put the data there, or '
                        f'point --cfg-options {key}.data_root=PATH at it '
                        '(--data-root PATH sets every dataset\'s).')
    return None


#: The extensions ``CustomDataset`` reads by default.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                    '.tiff', '.webp')
#: Folders with more images than this are not decoded image by image.
MAX_DECODED = 20000


def config_datasets(cfg: Config,
                    loaders: Sequence[str]) -> Iterator[Tuple[str, dict]]:
    """``(key, dataset config)`` of every dataset, through wrappers."""
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        dataset, key = loader_cfg.get('dataset'), f'{loader}.dataset'
        while isinstance(dataset, dict):
            yield key, dataset
            dataset, key = dataset.get('dataset'), f'{key}.dataset'


def _image_folder(dataset: dict) -> Optional[str]:
    """The folder a ``CustomDataset`` without annotation file reads."""
    if str(dataset.get('type', '')).split('.')[-1] != 'CustomDataset' or \
            dataset.get('ann_file'):
        return None
    prefix = dataset.get('data_prefix', '')
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '')
    return osp.join(dataset.get('data_root', ''), prefix)


def _unreadable(paths: List[str]) -> Optional[str]:
    """The first image that does not decode as the pipeline decodes it
    (OpenCV's own log of the failure silenced: the message names it)."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        for path in paths:
            try:
                with open(path, 'rb') as file:
                    image = mmcv.imfrombytes(file.read(), flag='color')
            except Exception:  # noqa: BLE001  (any decoder error)
                image = None
            if image is None:
                return path
    finally:
        cv2.utils.logging.setLogLevel(level)
    return None


def folder_dataset_problem(
        cfg: Config, loaders: Sequence[str] = _LOADERS) -> Optional[str]:
    """Checks the image folders of ``CustomDataset`` datasets.

    For every ``CustomDataset`` read from ``data_root/data_prefix/<class>/``
    (no annotation file): every class folder holds at least one image, all
    splits have the same classes, their number is the model's
    ``num_classes``, and every image decodes (up to :data:`MAX_DECODED`
    images per folder).

    Args:
        cfg (Config): The run's config.
        loaders (Sequence[str]): Dataloader keys to check.

    Returns:
        str | None: What is wrong and what to do, or None.
    """
    num_classes = (cfg.get('model', {}).get('head') or {}).get('num_classes')
    first: Optional[Tuple[str, List[str]]] = None
    for key, dataset in config_datasets(cfg, loaders):
        folder = _image_folder(dataset)
        if folder is None or not osp.isdir(folder):
            continue
        classes = sorted(entry.name for entry in os.scandir(folder)
                         if entry.is_dir())
        if not classes:
            return (f'{key}: {folder} has no class folders; CustomDataset '
                    f'reads {folder}/<class>/<image>')
        images = {}
        for name in classes:
            root = osp.join(folder, name)
            images[name] = sorted(
                osp.join(directory, file)
                for directory, _, files in os.walk(root) for file in files
                if file.lower().endswith(IMAGE_EXTENSIONS))
            if not images[name]:
                return (f'{key}: the class folder {root} holds no image '
                        f'({", ".join(IMAGE_EXTENSIONS)}); remove it or add '
                        'images')
        if first is None:
            first = (key, classes)
        elif classes != first[1]:
            return (f'{key}: the class folders of {folder} differ from those '
                    f'of {first[0]}: {sorted(set(classes) ^ set(first[1]))}')
        if num_classes is not None and len(classes) != num_classes:
            return (f'{key}: {folder} has {len(classes)} class folders but '
                    f'the model has num_classes={num_classes}; set '
                    f'num_classes = {len(classes)} at the top of the config')
        paths = [path for name in classes for path in images[name]]
        if len(paths) <= MAX_DECODED:
            broken = _unreadable(paths)
            if broken:
                return (f'{key}: cannot read the image {broken}; remove or '
                        're-save it')
    return None


def _given_classes(dataset: dict) -> Optional[List[str]]:
    """The classes a dataset config names (``metainfo.classes`` first, then
    mmpretrain's ``classes``: a list, or a file of one name a line)."""
    metainfo = dataset.get('metainfo')
    given = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if given is None:
        given = dataset.get('classes')
    if isinstance(given, str):
        if not osp.isfile(osp.expanduser(given)):
            return None
        given = mmengine.list_from_file(osp.expanduser(given))
    if isinstance(given, (list, tuple)):
        return [str(name) for name in given]
    return None


def _own_classes(dataset: dict) -> Optional[List[str]]:
    """The classes of one dataset config (not through its wrapped dataset),
    or None when they cannot be read without loading it."""
    given = _given_classes(dataset)
    if given is not None:
        return given
    folder = _image_folder(dataset)
    if folder is not None:
        if not osp.isdir(folder):
            return None
        return sorted(entry.name for entry in os.scandir(folder)
                      if entry.is_dir())
    dataset_type = dataset.get('type')
    dataset_class = DATASETS.get(dataset_type) if isinstance(
        dataset_type, str) else dataset_type
    if isinstance(dataset_class, type) and issubclass(dataset_class,
                                                      CustomDataset):
        # ImageNet & co.: the default class list, not what the files
        # label (a subset of ImageNet names no 1,000 classes)
        return None
    metainfo = getattr(dataset_class, 'METAINFO', None)
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    return [str(name) for name in classes] if classes else None


def dataset_classes(cfg: Config,
                    loader: str) -> Optional[Tuple[str, List[str]]]:
    """The classes of a dataloader's dataset, read without loading it.

    Through dataset wrappers (``KFoldDataset``...), from the first of:
    the config's ``metainfo.classes`` or ``classes``, the class folders of
    a ``CustomDataset`` without annotation file (sorted, as it labels
    them), the dataset class's ``METAINFO`` where it fixes the labels
    (CIFAR-10, MNIST, the embedded digits; not ImageNet and the other
    ``CustomDataset`` types, whose files may hold a subset).

    Args:
        cfg (Config): The run's config.
        loader (str): Dataloader key, e.g. ``'train_dataloader'``.

    Returns:
        tuple[str, list[str]] | None: The key of the dataset that names
        them and the class names, or None when unknown.
    """
    for key, dataset in config_datasets(cfg, [loader]):
        classes = _own_classes(dataset)
        if classes:
            return key, classes
    return None
