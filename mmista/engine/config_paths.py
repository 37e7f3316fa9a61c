# Copyright (c) mmista contributors. All rights reserved.
"""Files a config names: as given, or relative to the run's config."""
import os.path as osp
from typing import List, Optional


def config_relative_candidates(runner, path: str) -> List[str]:
    """Where a file a config names may be: the path as given and, for a
    relative path in a run started from a config file, beside that file.

    Args:
        runner (Runner): The run (its ``cfg.filename``).
        path (str): The path the config gives.

    Returns:
        list[str]: One or two candidates, in the order to try them.
    """
    candidates = [path]
    run_config = getattr(runner.cfg, 'filename', None)
    if run_config and not osp.isabs(path):
        candidates.append(osp.join(osp.dirname(run_config), path))
    return candidates


def first_file(candidates: List[str]) -> Optional[str]:
    """The first candidate that is a file, or None."""
    return next((c for c in candidates if osp.isfile(c)), None)
