# Copyright (c) mmista contributors. All rights reserved.
"""Checking a config's values before a run starts: the run's length, the
batch sizes, and a classifier wide enough for the data's classes."""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.config import Config

from mmista.errors import ConfigError, checked_int
from mmista.registry import LOOPS
from .data_check import dataset_classes

#: The dataloaders a training run builds.
TRAIN_LOADERS = ('train_dataloader', 'arch_dataloader', 'val_dataloader')


LoopTypes = Union[type, Tuple[type, ...]]


def uses_train_loop(cfg: Config, loops: LoopTypes) -> bool:
    """Whether the config trains with one of ``loops`` (or a subclass).

    Args:
        cfg (Config): A run's config; ``train_cfg.type`` names its loop (a
            registered name or the class).
        loops (type | tuple[type]): The loop classes.

    Returns:
        bool: Whether ``train_cfg.type`` is one of them.
    """
    loop = (cfg.get('train_cfg') or {}).get('type')
    loop_class = LOOPS.get(loop) if isinstance(loop, str) else loop
    return isinstance(loop_class, type) and issubclass(loop_class, loops)


def check_run_length(cfg: Config) -> None:
    """Checks ``train_cfg.max_epochs`` (or ``max_iters``): an integer >= 1.

    A run of zero or fewer epochs trains nothing and, in a one-stage
    search, would still export the untrained network.

    Args:
        cfg (Config): The run's config.

    Raises:
        ConfigError: The length is not an integer >= 1.
    """
    train_cfg = cfg.get('train_cfg') or {}
    for name in ('max_epochs', 'max_iters'):
        if name in train_cfg:
            checked_int(train_cfg[name], f'train_cfg.{name}',
                        what=f'the {name[4:]} to train')


def check_batch_sizes(cfg: Config, loaders: Sequence[str]) -> None:
    """Checks every dataloader's ``batch_size``: an integer >= 1.

    Args:
        cfg (Config): The run's config.
        loaders (Sequence[str]): Dataloader keys; absent ones are skipped.

    Raises:
        ConfigError: A batch size is not an integer >= 1.
    """
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if isinstance(loader_cfg, dict) and 'batch_size' in loader_cfg:
            checked_int(loader_cfg['batch_size'], f'{loader}.batch_size',
                        what='images per batch and process')


def _head_num_classes(cfg: Config) -> Optional[int]:
    """``model.head.num_classes``, or None when the config has none."""
    model = cfg.get('model')
    head = model.get('head') if isinstance(model, dict) else None
    return head.get('num_classes') if isinstance(head, dict) else None


def check_num_classes(cfg: Config, loader: str) -> None:
    """Checks that the classifier has an output for every class of a
    dataloader's dataset (read cheaply, see
    :func:`~mmista.cli.dataset_classes`; unknown classes pass).

    ``model.head.num_classes`` sizes the head and its auxiliary head; below
    the number of classes, the first batch with a higher label fails.

    Args:
        cfg (Config): The run's config.
        loader (str): Dataloader key, e.g. ``'train_dataloader'``.

    Raises:
        ConfigError: ``model.head.num_classes`` is not an integer >= 1 or
            is below the number of classes.
    """
    num_classes = _head_num_classes(cfg)
    if num_classes is None:
        return
    checked_int(num_classes, 'model.head.num_classes',
                what='outputs of the classifier, one per class')
    found = dataset_classes(cfg, loader)
    if found is None or num_classes >= len(found[1]):
        return
    key, classes = found
    top_level = ' (num_classes at the top of the config)' if isinstance(
        cfg.get('num_classes'), int) else ''
    raise ConfigError(
        f'model.head.num_classes={num_classes} is below the {len(classes)} '
        f'classes of {key}: labels {num_classes}..{len(classes) - 1} have '
        f'no output; set model.head.num_classes={len(classes)}{top_level}')


def check_train_config(cfg: Config) -> None:
    """The checks of a training run's values, before anything is built:
    :func:`check_run_length`, :func:`check_batch_sizes` of
    :data:`TRAIN_LOADERS` and :func:`check_num_classes` of the training
    set.

    Args:
        cfg (Config): The run's config.

    Raises:
        ConfigError: The first value that cannot work.
    """
    check_run_length(cfg)
    check_batch_sizes(cfg, TRAIN_LOADERS)
    check_num_classes(cfg, 'train_dataloader')


def _differences(trained: List[str], tested: List[str]) -> str:
    """What differs between two class lists, in a few words."""
    if sorted(trained) == sorted(tested):
        first = next(i for i, (a, b) in enumerate(zip(trained, tested))
                     if a != b)
        return (f'the same classes in another order (label {first} is '
                f'{trained[first]!r} in the checkpoint, {tested[first]!r} '
                'in the test set)')
    parts = []
    missing = [name for name in trained if name not in tested]
    extra = [name for name in tested if name not in trained]
    for label, names in (('not in the test set', missing),
                         ('not in the checkpoint', extra)):
        if names:
            shown = ', '.join(map(repr, names[:5]))
            more = f' and {len(names) - 5} more' if len(names) > 5 else ''
            parts.append(f'{label}: {shown}{more}')
    return '; '.join(parts)


def check_test_classes(cfg: Config, checkpoint: dict, path: str,
                       loader: str = 'test_dataloader') -> None:
    """Checks that a checkpoint is tested on the classes it was trained on.

    Exports and training checkpoints name their training classes in
    ``meta.dataset_meta.classes``. The test set's labels follow its own
    classes (a folder's are its sorted class folders): with other classes,
    or the same in another order, the accuracy would mean nothing.

    Args:
        cfg (Config): The test run's config.
        checkpoint (dict): The checkpoint, from
            :func:`~mmista.cli.read_checkpoint`.
        path (str): The checkpoint file, for the message.
        loader (str): The test dataloader key. Defaults to
            ``'test_dataloader'``.

    Raises:
        ConfigError: The test set's classes are not the checkpoint's.
    """
    meta = checkpoint.get('meta')
    dataset_meta = meta.get('dataset_meta') if isinstance(meta,
                                                          dict) else None
    trained = dataset_meta.get('classes') if isinstance(dataset_meta,
                                                        dict) else None
    found = dataset_classes(cfg, loader)
    if not isinstance(trained, (list, tuple)) or not trained or \
            found is None:
        return
    trained = [str(name) for name in trained]
    key, tested = found
    if trained == tested:
        return
    raise ConfigError(
        f'{key}: the {len(tested)} test classes differ from the '
        f'{len(trained)} classes the checkpoint {path} was trained on '
        f'({_differences(trained, tested)}); test on images of the training '
        'classes, labelled as in training')
