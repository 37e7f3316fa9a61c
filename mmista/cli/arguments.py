# Copyright (c) mmista contributors. All rights reserved.
"""Command-line plumbing shared by the scripts in ``tools/``."""
import argparse
import difflib
import os
import os.path as osp
import sys
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.utils import import_modules_from_strings


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """Adds ``--cfg-options`` (overrides checked by :func:`load_config`).

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs, e.g. '
        'train_cfg.max_epochs=5 model.backbone.channels=16')


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Adds ``--cfg-options``, ``--launcher`` and ``--local-rank``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    add_cfg_options(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parses arguments and exports ``LOCAL_RANK`` for the launcher."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def exit_if_missing(path: str, what: str) -> None:
    """Exits with a one-line message if ``path`` is not a file.

    Args:
        path (str): The path given by the user.
        what (str): What the file is, for the message (e.g. ``'config'``).
    """
    if not osp.isfile(path):
        sys.exit(f'error: {what} file not found: {path}')


def _lookup(tree: dict, dotted: str):
    """The value at ``a.b.0.c`` in a config tree, or a missing marker."""
    node = tree
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


_MISSING = object()


def check_overrides(cfg: Config, cfg_options: dict) -> Optional[str]:
    """Finds a ``--cfg-options`` entry that cannot be what the user meant.

    An override whose first key the config does not have (e.g.
    ``trian_cfg.max_epochs``) would be silently ignored by the Runner, and
    one that puts text where the config has a number or a boolean fails
    later with an unrelated message. Deeper new keys are allowed: they may
    be arguments the config leaves at their defaults.

    Args:
        cfg (Config): The loaded config.
        cfg_options (dict): The parsed overrides.

    Returns:
        str | None: What is wrong with the first bad override, or None.
    """
    tree = cfg.to_dict()
    for key, value in cfg_options.items():
        top = key.split('.')[0]
        if top not in tree:
            close = difflib.get_close_matches(top, list(tree), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            return f"{key}: the config has no key '{top}'{hint}"
        current = _lookup(tree, key)
        if current is _MISSING or current is None or value is None:
            continue
        numeric = (int, float)
        if isinstance(current, bool) and not isinstance(value, bool) or \
                isinstance(current, numeric) and not isinstance(
                    current, bool) and not isinstance(value, numeric):
            name = type(current).__name__
            article = 'an' if name[0] in 'aeiou' else 'a'
            return (f'{key}={value!r}: expected {article} {name} like the '
                    f'config\'s {current!r}')
    return None


def _import_custom_modules(cfg: Config, path: str) -> None:
    """Imports the config's ``custom_imports`` or exits naming the
    module."""
    try:
        import_modules_from_strings(**cfg.custom_imports)
    except ImportError as error:
        sys.exit(f'error: --cfg-options custom_imports: {error} (the '
                 'modules must be importable from PYTHONPATH; config: '
                 f'{path})')


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Loads a config, applies overrides and settles the work directory.

    The work directory is, in order: ``work_dir``, the config's own
    ``work_dir``, ``./work_dirs/<config name>``. ``custom_imports`` set by
    an override are imported (mmengine imports a config's own when it
    loads the file, before any override).

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        work_dir (str, optional): ``--work-dir``.

    Returns:
        Config: The config.
    """
    exit_if_missing(path, 'config')
    cfg = Config.fromfile(path)
    if cfg_options:
        problem = check_overrides(cfg, cfg_options)
        if problem:
            sys.exit(f'error: --cfg-options {problem} (config: {path})')
        cfg.merge_from_dict(cfg_options)
        if any(key.split('.')[0] == 'custom_imports' for key in cfg_options):
            _import_custom_modules(cfg, path)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg
