# Copyright (c) mmista contributors. All rights reserved.
"""Files a config names: as given, or relative to the run's config."""
import os.path as osp
from typing import List, Optional


def paths_beside_config(config_file: Optional[str], path: str) -> List[str]:
    """Where a file a config names may be: the path as given and, for a
    relative path of a config read from a file, beside that file.

    Args:
        config_file (str, optional): The config's own file, if any.
        path (str): The path the config gives.

    Returns:
        list[str]: One or two candidates, in the order to try them.
    """
    candidates = [path]
    if config_file and not osp.isabs(path):
        candidates.append(osp.join(osp.dirname(config_file), path))
    return candidates


def config_relative_candidates(runner, path: str) -> List[str]:
    """:func:`paths_beside_config` for the config of a run.

    Args:
        runner (Runner): The run (its ``cfg.filename``).
        path (str): The path the config gives.

    Returns:
        list[str]: One or two candidates, in the order to try them.
    """
    return paths_beside_config(getattr(runner.cfg, 'filename', None), path)


def first_file(candidates: List[str]) -> Optional[str]:
    """The first candidate that is a file, or None."""
    return next((c for c in candidates if osp.isfile(c)), None)
