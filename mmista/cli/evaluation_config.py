# Copyright (c) mmista contributors. All rights reserved.
"""The text of an evaluation config that retrains a genotype
(``tools/genotype_to_config.py``, ``tools/analysis_tools/benchmark_run.py``).

Every value from outside (paths, the genotype, settings copied from another
config) is written as a literal that cannot end early, span lines or hold
one of mmengine's ``{{ ... }}`` templates.
"""
import json
import os.path as osp
from typing import Any, Dict, Optional


def python_string(text: str) -> str:
    """``text`` as a Python string literal that is safe in a config file.

    ``repr`` escapes newlines, quotes and backslashes, so the literal never
    ends early or spans lines; ``{{`` is written ``{\\x7b``, so mmengine's
    ``{{ fileDirname }}``, ``{{ $VAR }}`` and ``{{ _base_.x }}`` templates,
    which it substitutes in the file's text before parsing, never match a
    name taken from outside.

    Args:
        text (str): A path or any text from the command line.

    Returns:
        str: The literal, quotes included (valid in code and in a comment).
    """
    return repr(str(text)).replace('{{', '{\\x7b')


def python_value(value: Any) -> str:
    """A plain config value (dicts, lists, tuples, strings, numbers, bools,
    None) as a Python literal, its strings by :func:`python_string`.

    Args:
        value: The value.

    Returns:
        str: One line of Python.

    Raises:
        TypeError: The value holds something else (an object, a class).
    """
    if isinstance(value, str):
        return python_string(value)
    if isinstance(value, dict):
        items = ', '.join(f'{python_string(key)}: {python_value(item)}'
                          for key, item in value.items())
        return '{' + items + '}'
    if isinstance(value, (list, tuple)):
        items = [python_value(item) for item in value]
        if isinstance(value, tuple):
            return '(' + ''.join(item + ', ' for item in items) + ')'
        return '[' + ', '.join(items) + ']'
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f'not a plain config value: {value!r}')


def assignments_text(values: Dict[str, Any]) -> str:
    """Config lines ``name = <literal>``, one per top-level name.

    Args:
        values (dict[str, Any]): Top-level config names (identifiers) to
            plain values, which mmengine merges into the base's.

    Returns:
        str: The lines.
    """
    for name in values:
        if not str(name).isidentifier():
            raise ValueError(f'not a config name: {name!r}')
    return ''.join(f'{name} = {python_value(value)}\n'
                   for name, value in values.items())


def base_reference(base: str, out: str) -> str:
    """How the written config names its base: relative to the config when
    both lie under a common directory other than the root (e.g. the
    repository), else absolute."""
    base, out_dir = osp.abspath(base), osp.dirname(osp.abspath(out))
    if osp.commonpath([base, out_dir]) == osp.sep:
        return base
    return osp.relpath(base, out_dir)


def config_text(genotype_json: str,
                base: str,
                out: str,
                source: str,
                backbone: Optional[Dict[str, Any]] = None,
                writer: str = 'tools/genotype_to_config.py') -> str:
    """The evaluation config: the base config with the genotype set.

    The genotype is written as JSON text (one line per field), which
    ``DerivedNet`` reads like a published name or a dict, and which
    replaces the base's genotype whatever form that one has. Every string
    from outside (paths, the genotype) is written as a literal by
    :func:`python_string`, comments included: no name can add a line or a
    statement to the config.

    Args:
        genotype_json (str): The genotype, from ``Genotype.to_json``.
        base (str): Path of the base config.
        out (str): Path the config is written to.
        source (str): Where the genotype came from, for the header.
        backbone (dict, optional): Further ``model.backbone`` fields to
            set (plain values, keys that are names). Defaults to none.
        writer (str): The tool named in the header. Defaults to
            ``'tools/genotype_to_config.py'``.

    Returns:
        str: Python config text.
    """
    fields = json.loads(genotype_json)
    parts = [f'{json.dumps(key)}: {json.dumps(value)}'
             for key, value in fields.items()]
    pieces = ['{' + parts[0]] + parts[1:]
    lines = [
        python_string(piece + (', ' if i < len(pieces) - 1 else '}'))
        for i, piece in enumerate(pieces)
    ]
    genotype = '(\n' + '\n'.join(' ' * 12 + line for line in lines) + ')'
    for key, value in (backbone or {}).items():
        if not str(key).isidentifier():
            raise ValueError(f'not a backbone argument: {key!r}')
        genotype += f',\n        {key}={python_value(value)}'
    return (f'# Written by {writer}: the evaluation config\n'
            f'# {python_string(base)} with the genotype from\n'
            f'# {python_string(source)}.\n'
            f'_base_ = [{python_string(base_reference(base, out))}]\n\n'
            f'model = dict(\n    backbone=dict(\n        genotype={genotype}))'
            '\n')
