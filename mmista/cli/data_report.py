# Copyright (c) mmista contributors. All rights reserved.
"""Checking a config's data before a long run: every dataloader's dataset
is there, builds, and reads (``tools/analysis_tools/check_data.py``)."""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.datasets.utils import check_md5

from mmista.errors import UserError
from mmista.registry import DATASETS
from .data_check import (config_datasets, expected_tree,
                         folder_dataset_problem, missing_data)
from .data_root import DATALOADERS


class DataError(UserError):
    """A config's data is missing, incomplete or unreadable; the message
    names the dataloader key and the file or folder."""


@dataclass
class SplitReport:
    """What one dataloader's dataset holds.

    Args:
        loader (str): The dataloader key, e.g. ``'train_dataloader'``.
        dataset (str): The dataset type, wrappers first
            (``'KFoldDataset(CIFAR10)'``).
        root (str): Its ``data_root`` (``''`` for embedded data).
        num_images (int): Number of samples.
        num_classes (int): Number of distinct labels among them.
        num_read (int): Samples read through the pipeline.
        shape (tuple): ``(C, H, W)`` of the first sample read.
        same_as (str, optional): The dataloader with the same dataset,
            not read again.
    """
    loader: str
    dataset: str = ''
    root: str = ''
    num_images: int = 0
    num_classes: int = 0
    num_read: int = 0
    shape: tuple = ()
    same_as: Optional[str] = None

    def line(self) -> str:
        """One line for the report."""
        if self.same_as:
            return f'{self.loader}: the dataset of {self.same_as}'
        where = f' in {self.root}' if self.root else ''
        shape = 'x'.join(str(size) for size in self.shape)
        return (f'{self.loader}: {self.dataset}{where}: '
                f'{self.num_images:,} images, {self.num_classes} classes; '
                f'read {self.num_read} through the pipeline ({shape})')


def _cifar_problem(key: str, dataset: dict) -> Optional[str]:
    """The first missing or damaged file of a CIFAR dataset, or None."""
    dataset_class = DATASETS.get(dataset.get('type'))
    files = [
        *dataset_class.train_list, *dataset_class.test_list,
        [dataset_class.meta['filename'], dataset_class.meta['md5']]
    ]
    folder = osp.join(dataset.get('data_root', ''), dataset_class.base_folder)
    for name, md5 in files:
        path = osp.join(folder, name)
        if not osp.isfile(path):
            return (f'{key}.data_root: {path} is missing '
                    f'({expected_tree(dataset)}); unpack the python version '
                    f'of {dataset_class.__name__} ({dataset_class.filename}) '
                    f'into {dataset.get("data_root")}')
        if not check_md5(path, md5):
            return (f'{key}.data_root: {path} does not match its md5 (a '
                    'partial or other copy); unpack '
                    f'{dataset_class.filename} again')
    return None


def _type_name(dataset: dict) -> str:
    """``'KFoldDataset(CIFAR10)'`` for a wrapped dataset config."""
    name = str(dataset.get('type')).split('.')[-1]
    inner = dataset.get('dataset')
    return f'{name}({_type_name(inner)})' if isinstance(inner, dict) else name


def _innermost_root(dataset: dict) -> str:
    while isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return str(dataset.get('data_root', ''))


def _read_samples(key: str, dataset, num_read: int) -> tuple:
    """Reads ``num_read`` samples spread over the dataset; returns the
    shape of the first."""
    count = len(dataset)
    indices = sorted({
        i * (count - 1) // max(num_read - 1, 1)
        for i in range(min(num_read, count))
    })
    shape = ()
    for index in indices:
        try:
            sample = dataset[index]
        except Exception as error:  # noqa: BLE001  (any reader error)
            path = dataset.get_data_info(index).get('img_path', '')
            where = f' ({path})' if path else ''
            text = str(error).strip().splitlines()
            raise DataError(
                f'{key}: cannot read sample {index}{where}: '
                f'{text[0] if text else type(error).__name__}') from error
        if not shape:
            shape = tuple(sample['inputs'].shape)
    return shape


def _missing_files(key: str, dataset) -> Optional[str]:
    """The first listed image that is not a file (annotation files can
    name images that are not there)."""
    missing, first = 0, None
    for index in range(len(dataset)):
        path = dataset.get_data_info(index).get('img_path')
        if path is not None and not osp.isfile(path):
            missing += 1
            first = first or path
    if missing:
        return (f'{key}: {missing:,} of {len(dataset):,} images listed are '
                f'not there, the first {first}; fix the annotation file or '
                'the folder')
    return None


def check_config_data(cfg: Config,
                      loaders: Sequence[str] = DATALOADERS,
                      num_read: int = 4) -> List[SplitReport]:
    """Checks that every dataloader's data is there and readable.

    In order, stopping at the first problem: every data folder exists
    (:func:`~mmista.cli.missing_data`), CIFAR files are all there with
    their md5, image folders hold images of the same classes that decode
    (:func:`~mmista.cli.folder_dataset_problem`), each dataset builds,
    every image it lists is a file, ``num_read`` samples spread over it
    go through its pipeline, and its labels fit ``model.head.num_classes``.

    Args:
        cfg (Config): The config.
        loaders (Sequence[str]): Dataloader keys. Defaults to
            :data:`~mmista.cli.data_root.DATALOADERS`.
        num_read (int): Samples read per dataset. Defaults to 4.

    Returns:
        list[SplitReport]: One per dataloader the config has.

    Raises:
        DataError: What is wrong, naming the key and the file or folder.
    """
    loaders = [loader for loader in loaders if cfg.get(loader)]
    problem = missing_data(cfg, loaders) or folder_dataset_problem(
        cfg, loaders)
    if problem:
        raise DataError(problem)
    init_default_scope(cfg.get('default_scope', 'mmista'))
    for key, dataset in config_datasets(cfg, loaders):
        dataset_type = str(dataset.get('type')).split('.')[-1]
        if dataset_type in ('CIFAR10', 'CIFAR100'):
            problem = _cifar_problem(key, dataset)
            if problem:
                raise DataError(problem)
    num_classes = (cfg.get('model', {}).get('head') or {}).get('num_classes')
    reports, seen = [], {}
    for loader in loaders:
        dataset_cfg = cfg[loader]['dataset']
        same = [name for name, other in seen.items() if other == dataset_cfg]
        if same:
            reports.append(SplitReport(loader, same_as=same[0]))
            continue
        seen[loader] = dataset_cfg
        key = f'{loader}.dataset'
        try:
            dataset = DATASETS.build(dataset_cfg.copy())
        except UserError:
            raise
        except Exception as error:  # noqa: BLE001  (any dataset error)
            text = str(error).strip().splitlines()
            raise DataError(
                f'{key}: cannot build {_type_name(dataset_cfg)}: '
                f'{text[0] if text else type(error).__name__}') from error
        if len(dataset) == 0:
            raise DataError(f'{key}: {_type_name(dataset_cfg)} holds no '
                            f'image ({expected_tree(dataset_cfg) or ""})')
        problem = _missing_files(key, dataset)
        if problem:
            raise DataError(problem)
        labels = [int(label) for label in dataset.get_gt_labels()]
        if isinstance(num_classes, int) and max(labels) >= num_classes:
            raise DataError(
                f'{key}: labels reach {max(labels)} but the model has '
                f'model.head.num_classes={num_classes}; set it to at least '
                f'{max(labels) + 1}')
        shape = _read_samples(key, dataset, num_read)
        reports.append(
            SplitReport(loader, _type_name(dataset_cfg),
                        _innermost_root(dataset_cfg), len(dataset),
                        len(set(labels)), min(num_read, len(dataset)), shape))
    return reports
