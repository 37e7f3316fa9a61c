# Copyright (c) mmista contributors. All rights reserved.
"""Every documented command builds a model that trains.

Over ``README.md`` and every ``docs/**/*.md`` (shell code blocks and inline
commands), each command of ``tools/train.py``, ``tools/test.py``, the
launchers (``tools/dist_train.sh``, ``dist_test.sh``, ``slurm_train.sh``,
``slurm_test.sh``), ``tools/export_backbone.py`` and
``tools/analysis_tools/complexity.py`` that names a config is parsed by the
tool's own argument parser and applied to the config as the tool does it
(:func:`mmista.cli.load_config`: the ``--cfg-options`` checks and
``merge_from_dict``; for training ``merge_args`` of ``tools/train.py`` and
the config checks; then the head widths of
:func:`mmista.cli.fit_head_to_backbone`). The model is built with the
config's data preprocessor and takes one forward and backward pass on a
tiny batch: 2 random images (1 at the ImageNet size) through the config's
own training pipeline, so at the size it produces. The loss must be finite
and reach the backbone.

A command whose config is ``CONFIG``, a bare ``--cfg-options ...`` example
of the prose, and every ``--cfg-options`` example a tool's ``--help``
prints (``e.g. ...``) are applied to each of :data:`REPRESENTATIVES` that
has every key the example sets (a key a config lacks belongs to another
kind of config); each must apply to at least one. Switches that do not
change the model are left out: ``--amp`` (the precision of the training
steps), and ``--resume`` and ``--lr-from-config``, which need a checkpoint
the test has not. Commands whose config an earlier run writes
(``work_dirs/...``, and :data:`tests.test_docs.BASED_ON_A_RUN`) are left
to the tests that make that run.

One test per (page, command), named by both; commands that give the same
model share one build and step: about half a minute of CPU for the
whole file.
"""
import contextlib
import copy
import functools
import importlib.util
import io
import json
import math
import os
import os.path as osp
import re
import shlex
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis import DEFAULT_SIZES
from mmista.cli import (check_batch_sizes, check_train_config,
                        fit_head_to_backbone, load_config)
from mmista.cli.arguments import _MISSING, _lookup
from mmista.registry import MODELS, TRANSFORMS
from .test_docs import (_INLINE_CODE, _SHELL_LANGUAGES, BASED_ON_A_RUN, PAGES,
                        _read, _split_fences)
from .utils import REPO_ROOT

#: The tools that build a model from a config, and the launchers that run
#: them: ``script -> (tool, its arguments from the launcher's)``.
TOOLS = {
    'tools/train.py': ('tools/train.py', lambda a: a),
    'tools/test.py': ('tools/test.py', lambda a: a),
    'tools/export_backbone.py': ('tools/export_backbone.py', lambda a: a),
    'tools/analysis_tools/complexity.py':
    ('tools/analysis_tools/complexity.py', lambda a: a),
    # CONFIG NPROC [args]
    'tools/dist_train.sh': ('tools/train.py', lambda a: a[:1] + a[2:]),
    # CONFIG CHECKPOINT NPROC [args]
    'tools/dist_test.sh': ('tools/test.py', lambda a: a[:2] + a[3:]),
    # PARTITION JOB CONFIG WORK_DIR [args]
    'tools/slurm_train.sh':
    ('tools/train.py', lambda a: a[2:3] + ['--work-dir'] + a[3:4] + a[4:]),
    # PARTITION JOB CONFIG CHECKPOINT [args]
    'tools/slurm_test.sh': ('tools/test.py', lambda a: a[2:]),
}

#: One config of each kind of model, for the examples that name none:
#: a derived network, the one-stage and two-stage ISTA super-nets, the
#: dense super-net, and the one-stage search on the ImageNet stem.
REPRESENTATIVES = (
    'configs/nets/ista_onestage_digits.py',
    'configs/ista/onestage_digits.py',
    'configs/ista/twostage_digits.py',
    'configs/dense/twostage_digits.py',
    'configs/ista/onestage_imagenet.py',
)

#: Switches left out, with the number of values each takes (``--resume``
#: and ``--amp`` take one if it is not followed by another switch).
LEFT_OUT = {'--amp': 1, '--lr-from-config': 0, '--resume': 1}

#: Where an option changes the model or the batch it takes.
MODEL_KEYS = ('model.', 'data_preprocessor.', 'train_dataloader.',
              'train_pipeline')

_CONFIG_PATH = re.compile(r'^configs/[\w./-]+\.py$')
_HELP_EXAMPLE = re.compile(r'e\.g\.\s+((?:[\w.]+=[^\s,;()]+\s*)+)')
_SHELL_END = {'&&', '||', '|', ';', '>', '>>', '2>', '&'}


class Command(NamedTuple):
    """A documented command, as the test runs it."""
    where: str  # the page, or the tool whose --help prints it
    text: str  # as written (one line)
    tool: str  # the Python tool that runs
    argv: Tuple[str, ...]  # the tool's arguments, config first


def _shell_lines(page: str) -> List[str]:
    """Every shell line of a page (code blocks, with continuations joined,
    and inline code spans)."""
    prose, blocks = _split_fences(_read(page))
    lines = []
    for language, code in blocks:
        if language in _SHELL_LANGUAGES:
            lines += code.replace('\\\n', ' ').splitlines()
    return lines + _INLINE_CODE.findall(prose)


def _tool_call(line: str) -> Optional[Tuple[str, List[str]]]:
    """``(script, arguments)`` of the tool a shell line runs, or None."""
    try:
        words = shlex.split(line.lstrip('$ '), comments=True)
    except ValueError:  # prose in backticks, not a command
        return None
    for index, word in enumerate(words):
        if word in TOOLS:
            args = []
            for arg in words[index + 1:]:
                if arg in _SHELL_END:
                    break
                args.append(arg)
            return word, args
    return None


def _page_commands() -> List[Command]:
    """The commands of the pages that name a config or ``CONFIG``."""
    commands = set()
    for page in PAGES:
        for line in _shell_lines(page):
            call = _tool_call(line)
            if call is None:
                continue
            script, args = call
            tool, to_tool = TOOLS[script]
            argv = tuple(to_tool(args))
            # ``CONFIG`` without overrides: nothing to apply
            placeholder = argv[:1] == ('CONFIG', ) and _option_keys(argv)
            if not argv or argv[0] in BASED_ON_A_RUN or not (
                    placeholder or _CONFIG_PATH.match(argv[0])):
                continue
            text = ' '.join([script, *args])
            commands.add(Command(page, text, tool, argv))
    return sorted(commands)


def _bare_option_examples() -> List[Command]:
    """The ``--cfg-options key=value ...`` examples of the prose that name
    no tool (``CONFIG`` stands for the config)."""
    examples = set()
    for page in PAGES:
        for span in _INLINE_CODE.findall(_split_fences(_read(page))[0]):
            if span.startswith('--cfg-options ') and '=' in span:
                examples.add(
                    Command(page, span, 'tools/train.py',
                            ('CONFIG', *shlex.split(span))))
    return sorted(examples)


def _load_tool(tool: str):
    """A script of ``tools/`` as a module (its ``main`` does not run)."""
    name = 'docs_' + re.sub(r'\W', '_', tool)
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, osp.join(REPO_ROOT, tool))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


@contextlib.contextmanager
def _argv(tool: str, argv: List[str]):
    """``sys.argv`` of a tool, and ``LOCAL_RANK`` (which the runner tools'
    parsers set) as it was."""
    saved_argv, saved_rank = sys.argv, os.environ.get('LOCAL_RANK')
    sys.argv = [tool, *argv]
    try:
        yield
    finally:
        sys.argv = saved_argv
        if saved_rank is None:
            os.environ.pop('LOCAL_RANK', None)
        else:
            os.environ['LOCAL_RANK'] = saved_rank


def _help_examples() -> List[Command]:
    """The ``--cfg-options`` examples the tools' ``--help`` print (one
    command per example, named by the tools that print it)."""
    printed_by: Dict[str, List[str]] = {}
    for tool in sorted({tool for tool, _ in TOOLS.values()}):
        out = io.StringIO()
        with _argv(tool, ['--help']), contextlib.redirect_stdout(out), \
                pytest.raises(SystemExit):
            _load_tool(tool).parse_args()
        text = ' '.join(out.getvalue().split())
        for example in _HELP_EXAMPLE.findall(text):
            printed_by.setdefault(' '.join(example.split()), []).append(tool)
    return [
        Command(f'{", ".join(tools)} --help', f'--cfg-options {example}',
                'tools/train.py',
                ('CONFIG', '--cfg-options', *example.split()))
        for example, tools in sorted(printed_by.items())
    ]


def _without_left_out(argv: List[str]) -> List[str]:
    """The arguments without the switches of :data:`LEFT_OUT`."""
    kept, skip = [], 0
    for arg in argv:
        if skip:
            skip = 0
            if not arg.startswith('--'):
                continue
        if arg in LEFT_OUT:
            skip = LEFT_OUT[arg]
            continue
        kept.append(arg)
    return kept


def _option_keys(argv: Tuple[str, ...]) -> List[str]:
    """The keys a command's ``--cfg-options`` set."""
    keys, inside = [], False
    for arg in argv:
        if arg.startswith('--'):
            inside = arg == '--cfg-options'
        elif inside and '=' in arg:
            keys.append(arg.split('=', 1)[0])
    return keys


def _applied(command: Command) -> List[Tuple[Command, str]]:
    """``(command, config)`` pairs: its own config; for ``CONFIG``, each
    representative that has every key it sets if it changes the model,
    else the first one (the others would take the same step)."""
    if command.argv[0] != 'CONFIG':
        return [(command, command.argv[0])]
    keys = _option_keys(command.argv)
    configs = [
        config for config in REPRESENTATIVES if all(
            _lookup(_loaded(config), key) is not _MISSING for key in keys)
    ]
    if not any(key.startswith(MODEL_KEYS) for key in keys):
        configs = configs[:1]
    return [(command, config) for config in configs]


@functools.lru_cache(maxsize=None)
def _loaded(config: str) -> dict:
    return Config.fromfile(osp.join(REPO_ROOT, config)).to_dict()


PAGE_COMMANDS = _page_commands()
EXAMPLES = _bare_option_examples() + _help_examples()
CASES = [
    case for command in PAGE_COMMANDS + EXAMPLES for case in _applied(command)
]


def _case_id(case: Tuple[Command, str]) -> str:
    command, config = case
    suffix = f' [CONFIG={config}]' if command.argv[0] == 'CONFIG' else ''
    return f'{command.where} -> {command.text}{suffix}'


def configured(tool: str, argv: List[str]) -> Config:
    """The config as ``tool`` leaves it before it builds the model.

    Args:
        tool (str): ``tools/train.py``, ``tools/test.py`` ...
        argv (list[str]): The tool's arguments.

    Returns:
        Config: The config, overrides applied, head widths fitted.
    """
    module = _load_tool(tool)
    with _argv(tool, _without_left_out(argv)):
        args = module.parse_args()
    work_dir = getattr(args, 'work_dir', None)
    cfg = load_config(args.config, args.cfg_options, work_dir)
    if tool == 'tools/train.py':
        cfg = module.merge_args(cfg, args)
        check_train_config(cfg)
    elif tool == 'tools/test.py':
        cfg.launcher = args.launcher
        check_batch_sizes(cfg, ['test_dataloader'])
    _fit_head(cfg)
    return cfg


_FITTED: Dict[str, dict] = {}


def _fit_head(cfg: Config) -> None:
    """:func:`fit_head_to_backbone`, once per distinct ``model`` (it
    builds the backbone; the head it gives depends on nothing else)."""
    key = json.dumps(cfg.model.to_dict(), sort_keys=True, default=str)
    if key not in _FITTED:
        fit_head_to_backbone(cfg)
        _FITTED[key] = copy.deepcopy(cfg.model.head)
    if _FITTED[key] is not None:
        cfg.model.head = copy.deepcopy(_FITTED[key])


def _pipeline(dataset: dict) -> List[dict]:
    """The pipeline of a dataset config (of the dataset it wraps)."""
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    return list(dataset.get('pipeline', []))


def tiny_batch(cfg: Config) -> dict:
    """Random images through the config's training pipeline: 2, or 1 at
    the ImageNet size; the image side before the pipeline is the stem's
    usual one."""
    stem = cfg.model.backbone.get('stem', 'cifar')
    side = DEFAULT_SIZES.get(stem, 32)
    count = 1 if side >= 128 else 2
    num_classes = cfg.model.head.num_classes
    rng = np.random.default_rng(0)
    transforms = [
        TRANSFORMS.build(copy.deepcopy(step))
        for step in _pipeline(cfg.train_dataloader.dataset)
        if not str(step['type']).split('.')[-1].startswith('Load')
    ]
    inputs, samples = [], []
    for index in range(count):
        image = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        results = dict(
            img=image,
            img_shape=image.shape[:2],
            ori_shape=image.shape[:2],
            gt_label=index % num_classes)
        for transform in transforms:
            results = transform(results)
        inputs.append(results['inputs'])
        samples.append(results['data_samples'])
    return dict(inputs=inputs, data_samples=samples)


def _model_key(cfg: Config) -> str:
    """What decides the model and its batch."""
    return json.dumps(
        dict(
            model=cfg.model.to_dict(),
            preprocessor=cfg.get('data_preprocessor'),
            pipeline=_pipeline(cfg.train_dataloader.dataset),
            scope=cfg.get('default_scope', 'mmista')),
        sort_keys=True,
        default=str)


_STEPS: Dict[str, dict] = {}


def one_step(cfg: Config) -> dict:
    """One training forward and backward pass of the config's model.

    Args:
        cfg (Config): A configured config (see :func:`configured`).

    Returns:
        dict: ``loss`` (float), ``input_shape`` and ``backbone_grads`` (how
        many backbone parameters got a finite, non-zero gradient).
    """
    key = _model_key(cfg)
    if key not in _STEPS:
        init_default_scope(cfg.get('default_scope', 'mmista'))
        model_cfg = copy.deepcopy(cfg.model)
        if cfg.get('data_preprocessor') is not None:
            model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
        threads = torch.get_num_threads()
        # one thread: a batch of 2 gains nothing from more, and a second
        # thread spins for the other on a busy machine (10x the time)
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = MODELS.build(model_cfg)
                model.train()
                data = model.data_preprocessor(tiny_batch(cfg), training=True)
                loss, _ = model.parse_losses(model(**data, mode='loss'))
                loss.backward()
        finally:
            torch.set_num_threads(threads)
        grads = [
            p.grad for p in model.backbone.parameters() if p.grad is not None
        ]
        _STEPS[key] = dict(
            loss=float(loss.detach()),
            input_shape=tuple(data['inputs'].shape),
            backbone_grads=sum(
                bool(torch.isfinite(g).all() and g.abs().sum() > 0)
                for g in grads))
    return _STEPS[key]


def test_commands_and_examples_are_found():
    """The parsers find what the pages and tools hold (an empty list would
    let every parametrized test pass by having nothing to check)."""
    texts = [command.text for command in PAGE_COMMANDS]
    assert len(PAGE_COMMANDS) >= 20
    assert any('dist_train.sh' in text for text in texts)
    assert any(command.argv[0] == 'CONFIG'
               and 'model.backbone.channels=16' in command.text
               for command in PAGE_COMMANDS)
    helps = [c for c in EXAMPLES if c.where.endswith('--help')]
    assert helps and all(
        'tools/train.py' in c.where and 'tools/test.py' in c.where
        for c in helps)
    assert any('model.backbone.channels=16' in c.text for c in helps)


@pytest.mark.parametrize(
    'command',
    PAGE_COMMANDS + EXAMPLES,
    ids=[f'{c.where} -> {c.text}' for c in PAGE_COMMANDS + EXAMPLES])
def test_every_example_applies_to_some_config(command):
    assert _applied(command), (
        f'{command.where}: no config of {REPRESENTATIVES} has every key of '
        f'{command.text!r}')


@pytest.mark.parametrize('case', CASES, ids=[_case_id(c) for c in CASES])
def test_command_model_trains_one_step(case):
    command, config = case
    argv = [config if arg == 'CONFIG' else arg for arg in command.argv]
    cfg = configured(command.tool, argv)
    step = one_step(cfg)
    assert math.isfinite(step['loss']), step
    assert step['backbone_grads'] > 0, step
    count, channels, height, width = step['input_shape']
    assert channels == cfg.model.backbone.get('in_channels', 3)
    assert count == (1 if height >= 128 else 2)
