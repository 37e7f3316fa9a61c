# Copyright (c) mmista contributors. All rights reserved.
"""The docs stay true: links, paths, configs and the diagram script.

Over ``README.md`` and every ``docs/**/*.md``:

- every relative link and image target resolves to a file (anchors
  stripped, ``http(s)``/``mailto`` links ignored);
- every ``configs/``, ``tools/``, ``mmista/``, ``tests/``, ``docs/``,
  ``requirements/`` and ``.ci/`` path named in the text exists;
- every config named in a shell command (a ``bash`` code block, or an
  inline ``python ...``/``bash ...`` command) loads with
  ``mmengine.Config.fromfile``;
- every page under ``docs/en/`` is reachable from ``docs/en/index.md``.

Each check is one test per (page, target), so a failure names both.
"""
import functools
import glob
import os.path as osp
import re
from typing import Iterator, List, Tuple

import pytest
from mmengine.config import Config

from .utils import REPO_ROOT, run_tool

PAGES = ['README.md'] + sorted(
    osp.relpath(path, REPO_ROOT)
    for path in glob.glob(
        osp.join(REPO_ROOT, 'docs', '**', '*.md'), recursive=True))

_FENCE = re.compile(r'^\s*(```|~~~)\s*([\w+-]*)')
_INLINE_CODE = re.compile(r'`([^`\n]+)`')
_LINK = re.compile(r'!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
_REF_LINK = re.compile(r'^\s*\[[^\]\n]+\]:\s*<?(\S+?)>?\s*$', re.MULTILINE)
_HTML_LINK = re.compile(r'<(?:img|a)\b[^>]*?\b(?:src|href)="([^"]+)"')
_REPO_PATH = re.compile(
    r'(?<![\w./-])((?:configs|tools|mmista|tests|docs|requirements|\.ci)/'
    r'[\w./-]*[\w/])')
_CONFIG = re.compile(r'(?<![\w./-])(configs/[\w./-]+\.py)\b')
_SHELL_LANGUAGES = {'bash', 'sh', 'shell', 'console'}
_EXTERNAL = ('http://', 'https://', 'mailto:')


def _read(page: str) -> str:
    """Returns the text of a page.

    Args:
        page (str): Path relative to the repository root.

    Returns:
        str: The page's text.
    """
    with open(osp.join(REPO_ROOT, page), encoding='utf-8') as file:
        return file.read()


def _split_fences(text: str) -> Tuple[str, List[Tuple[str, str]]]:
    """Separates fenced code blocks from the prose of a page.

    Args:
        text (str): A Markdown page.

    Returns:
        tuple[str, list[tuple[str, str]]]: The prose (code blocks blanked
        out) and ``(language, code)`` of every fenced block.
    """
    prose, blocks = [], []
    fence, language, code = None, '', []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None and match:
            fence, language, code = match.group(1), match.group(2), []
            prose.append('')
        elif fence is not None and line.strip().startswith(fence):
            blocks.append((language.lower(), '\n'.join(code)))
            fence = None
            prose.append('')
        elif fence is not None:
            code.append(line)
            prose.append('')
        else:
            prose.append(line)
    return '\n'.join(prose), blocks


def _links(page: str) -> Iterator[str]:
    """Yields the link and image targets in a page's prose."""
    prose, _ = _split_fences(_read(page))
    prose = _INLINE_CODE.sub('', prose)
    for pattern in (_LINK, _REF_LINK, _HTML_LINK):
        yield from pattern.findall(prose)


def _local_links() -> List[Tuple[str, str]]:
    """``(page, target)`` of every relative link, external ones left out."""
    pairs = set()
    for page in PAGES:
        for target in _links(page):
            if target.startswith(_EXTERNAL) or target.startswith('#'):
                continue
            pairs.add((page, target))
    return sorted(pairs)


def _repo_paths() -> List[Tuple[str, str]]:
    """``(page, path)`` of every repository path named anywhere in a page
    (prose and code)."""
    return sorted({(page, path)
                   for page in PAGES
                   for path in _REPO_PATH.findall(_read(page))})


def _shell_commands(page: str) -> Iterator[str]:
    """Yields the shell code of a page: ``bash`` blocks and inline
    ``python ...``/``bash ...`` commands."""
    prose, blocks = _split_fences(_read(page))
    for language, code in blocks:
        if language in _SHELL_LANGUAGES:
            yield code
    for span in _INLINE_CODE.findall(prose):
        if span.startswith(('python ', 'bash ')):
            yield span


def _command_configs() -> List[Tuple[str, str]]:
    """``(page, config)`` of every config named in a shell command."""
    return sorted({(page, config)
                   for page in PAGES
                   for code in _shell_commands(page)
                   for config in _CONFIG.findall(code)})


def _ids(pairs: List[Tuple[str, str]]) -> List[str]:
    return [f'{page} -> {target}' for page, target in pairs]


LOCAL_LINKS = _local_links()
REPO_PATHS = _repo_paths()
COMMAND_CONFIGS = _command_configs()


def test_pages_and_targets_are_found():
    """The parsers find what the pages hold (an empty list would let every
    parametrized test pass by having nothing to check)."""
    assert 'docs/en/index.md' in PAGES
    assert len(PAGES) >= 10
    assert len(LOCAL_LINKS) >= 50
    assert any(target.endswith('.png') for _, target in LOCAL_LINKS)
    assert len(REPO_PATHS) >= 50
    assert len(COMMAND_CONFIGS) >= 10


@pytest.mark.parametrize('page, target', LOCAL_LINKS, ids=_ids(LOCAL_LINKS))
def test_relative_link_resolves(page, target):
    path = target.split('#', 1)[0].split('?', 1)[0]
    resolved = osp.normpath(osp.join(REPO_ROOT, osp.dirname(page), path))
    assert osp.exists(resolved), (
        f'{page}: link target {target!r} does not exist '
        f'({osp.relpath(resolved, REPO_ROOT)})')


@pytest.mark.parametrize('page, path', REPO_PATHS, ids=_ids(REPO_PATHS))
def test_named_path_exists(page, path):
    assert osp.exists(osp.join(REPO_ROOT, path)), (
        f'{page} names {path!r}, which does not exist')


@functools.lru_cache(maxsize=None)
def _load(config: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, config))


#: Configs whose ``_base_`` is what an earlier run writes; the test that
#: makes that run loads them (with the paths pointed at its output).
BASED_ON_A_RUN = {
    'configs/ista/finetune_export.py':
    'tests/test_tools/test_custom_dataset.py',
}


@pytest.mark.parametrize(
    'page, config', COMMAND_CONFIGS, ids=_ids(COMMAND_CONFIGS))
def test_command_config_loads(page, config):
    assert osp.isfile(osp.join(REPO_ROOT, config)), (
        f'{page} runs {config!r}, which does not exist')
    if config in BASED_ON_A_RUN:
        with open(osp.join(REPO_ROOT, config)) as file:
            assert "'../../work_dirs/" in file.read()
        assert osp.isfile(osp.join(REPO_ROOT, BASED_ON_A_RUN[config]))
        return
    assert 'model' in _load(config), f'{config} (in {page}) has no model'


def test_index_reaches_every_page():
    linked = {
        osp.normpath(osp.join('docs/en', target.split('#', 1)[0]))
        for target in _links('docs/en/index.md')
        if not target.startswith(_EXTERNAL)
    }
    pages = {page for page in PAGES if page.startswith('docs/en/')}
    missing = sorted(pages - linked - {'docs/en/index.md'})
    assert not missing, f'docs/en/index.md does not link {missing}'


def test_onestage_diagram_script_writes_a_png(tmp_path):
    out = tmp_path / 'onestage_epoch_boundary.png'
    run_tool('tools/visualizations/draw_onestage_epoch.py', '--out',
             str(out))
    data = out.read_bytes()
    assert len(data) > 1000
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
