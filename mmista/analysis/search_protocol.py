# Copyright (c) mmista contributors. All rights reserved.
"""A search protocol: N searches, each found genotype retrained with M
seeds, against K random genotypes of the same sparsity retrained by the
same recipe (``tools/analysis_tools/search_protocol.py``,
docs/en/user_guides/search_protocol.md).

Layout of the work dir ``ROOT``::

    ROOT/search/seed_<s>/             the searches (randomness.seed=s)
    ROOT/ista/g<s>/retrain_config.py  search s's genotype, retrain config
    ROOT/ista/g<s>/seed_<r>/          its retrains (randomness.seed=r)
    ROOT/random/genotypes.json        the random genotypes and their seed
    ROOT/random/g<k>/retrain_config.py, ROOT/random/g<k>/seed_<r>/
    ROOT/runs.csv, runs.json, report.md, accuracy_vs_params.png

Every run is an ordinary ``tools/train.py`` run
(:mod:`~mmista.analysis.protocol_runs`); finished runs are skipped and
interrupted ones resumed, so the same command continues a protocol.
"""
import argparse
import json
import math
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from mmengine.config import Config, DictAction

from mmista.cli import (check_base, config_text, fit_head_to_backbone,
                        pick_base, shipped_bases, shown_path, uses_train_loop)
from mmista.cli.arguments import check_overrides
from mmista.engine.runner import OneStageSearchLoop, TwoStageSearchLoop
from mmista.errors import ConfigError, UserError
from mmista.fileio import atomic_write_text, check_writable
from mmista.structures import Genotype, get_genotype, read_search_space
from mmista.visualization.protocol_plot import plot_accuracy_vs_params
from .complexity import build_counted_model, count_params, model_complexity
from .protocol_report import genotype_means, markdown, summarize, write_results
from .protocol_runs import (Launcher, Run, execute, genotype_file, run_state,
                            tail, wall_seconds)
from .random_genotypes import draw_random_genotypes
from .seed_runs import read_seed_run

RETRAIN_CONFIG = 'retrain_config.py'
#: The training loops of a search config.
SEARCH_LOOPS = (OneStageSearchLoop, TwoStageSearchLoop)
RANDOM_FILE = 'genotypes.json'
PLOT_FILE = 'accuracy_vs_params.png'
WRITER = 'tools/analysis_tools/search_protocol.py'


@dataclass
class ProtocolOptions:
    """What a protocol runs.

    Args:
        config (str): The search config.
        work_dir (str): ``ROOT``.
        searches (int): N, searches with seeds ``0..N-1``.
        retrains (int): M, retrains of every genotype, seeds ``0..M-1``.
        random (int): K, random genotypes.
        eval_config (str, optional): The retrain recipe (an evaluation
            config); defaults to the shipped one that builds the searched
            genotypes' search-space variant.
        random_seed (int): Seed of the random genotypes.
        match_params (float, optional): Draw each random genotype until its
            parameters are within this relative distance of a searched
            genotype's.
        match_tries (int): Draws per random genotype before giving up.
        cfg_options (list[str]): ``key=value`` for every run.
        search_cfg_options (list[str]): For the searches, after those.
        retrain_cfg_options (list[str]): For the retrains, after those.
        keep_going (bool): Go on after a failed run.
        metric (str): The validation metric.
        execute (bool): Run the runs (False: print their commands).
    """

    config: str
    work_dir: str
    searches: int = 3
    retrains: int = 2
    random: int = 3
    eval_config: Optional[str] = None
    random_seed: int = 0
    match_params: Optional[float] = None
    match_tries: int = 1000
    cfg_options: List[str] = field(default_factory=list)
    search_cfg_options: List[str] = field(default_factory=list)
    retrain_cfg_options: List[str] = field(default_factory=list)
    keep_going: bool = False
    metric: str = 'accuracy/top1'
    execute: bool = True


def parse_options(values: List[str], flag: str) -> dict:
    """``key=value`` strings as mmengine's ``--cfg-options`` parses them.

    Raises:
        ConfigError: An item is not ``key=value``, or sets
            ``randomness.seed`` (the protocol sets every run's seed).
    """
    for item in values:
        if '=' not in item:
            raise ConfigError(f'{flag} {item!r}: expected key=value')
    namespace = argparse.Namespace()
    DictAction(['--x'], 'options')(None, namespace, list(values))
    parsed = namespace.options if values else {}
    for key in parsed:
        if key in ('randomness', 'randomness.seed'):
            raise ConfigError(
                f'{flag} {key}: the protocol sets each run\'s seed '
                '(searches 0..N-1, retrains 0..M-1); leave it out')
    return parsed


def checked_config(path: str, options: dict, what: str,
                   flags: str) -> Config:
    """Loads a config and checks the overrides the runs will apply."""
    if not osp.isfile(path):
        raise ConfigError(f'{what} file not found: {path}')
    cfg = Config.fromfile(path)
    problem = check_overrides(cfg, options)
    if problem:
        raise ConfigError(f'{flags} {problem} ({what}: {path})')
    cfg.merge_from_dict(options)
    return cfg


def check_search(cfg: Config, path: str) -> None:
    """Refuses a config whose training loop is not a search.

    Raises:
        ConfigError: ``train_cfg.type`` is not a one-stage or two-stage
            search loop.
    """
    if not uses_train_loop(cfg, SEARCH_LOOPS):
        loop = (cfg.get('train_cfg') or {}).get('type')
        raise ConfigError(
            f'{path} is not a search config (train_cfg.type is {loop!r}, '
            'not OneStageSearchLoop or TwoStageSearchLoop): pass a config '
            'of configs/ista/ as the search, and an evaluation config with '
            '--eval-config')


class SearchProtocol:
    """Runs (or prints) every run of a protocol and writes its report.

    Args:
        options (ProtocolOptions): What to run.
        launcher (Launcher): How.
        repo_root (str): The repository (its ``configs/nets`` hold the
            default retrain recipes).
        echo (Callable[[str], None]): Prints one line. Defaults to
            ``print`` to stdout.
    """

    def __init__(self,
                 options: ProtocolOptions,
                 launcher: Launcher,
                 repo_root: str,
                 echo: Optional[Callable[[str], None]] = None):
        self.options = options
        self.launcher = launcher
        self.repo_root = repo_root
        self.echo = echo or (lambda line: print(line, flush=True))
        self.root = osp.abspath(options.work_dir)
        self.failures: List[str] = []
        self.failed: set = set()
        self.stopped = False
        self.base: Optional[str] = None
        self._complexity: Dict[str, dict] = {}
        opts = options
        self.search_options = list(opts.cfg_options) + list(
            opts.search_cfg_options)
        self.retrain_options = list(opts.cfg_options) + list(
            opts.retrain_cfg_options)
        self.retrain_parsed = parse_options(
            self.retrain_options, '--cfg-options/--retrain-cfg-options')
        self.search_parsed = parse_options(
            self.search_options, '--cfg-options/--search-cfg-options')

    # -- the runs ---------------------------------------------------------
    def process(self, run: Run) -> str:
        """Skips, prints or runs one run.

        Returns:
            str: ``'finished'``, ``'failed'`` or ``'not run'``.
        """
        state, why = run_state(run)
        if state == 'finished':
            self.echo(f'skipped {run.name}: finished')
            return 'finished'
        if not self.options.execute:
            self.echo(f'# {run.name}: {why or "to run"}')
            self.echo(self.launcher.shell_line(run))
            return 'not run'
        if self.stopped:
            return 'not run'
        self.echo(f'{"resuming" if state == "resume" else "running"} '
                  f'{run.name}{" (" + why + ")" if why else ""}: '
                  f'{self.launcher.shell_line(run)}')
        failure = execute(run, self.launcher, self.repo_root)
        if failure is None:
            wall = wall_seconds(run)
            self.echo(f'finished {run.name} in {wall:.1f} s')
            return 'finished'
        message = f'{run.name} failed ({failure}): see its log {run.log}'
        print(tail(run.log), file=sys.stderr, flush=True)
        print(f'error: {message}', file=sys.stderr, flush=True)
        self.failures.append(message)
        self.failed.add(run.name)
        if not self.options.keep_going:
            self.stopped = True
        return 'failed'

    def waiting(self, run: Run, on: str) -> None:
        """Prints the command of a run whose config is not written yet."""
        if self.options.execute:
            return
        self.echo(f'# {run.name}: waits for {on}')
        self.echo(self.launcher.shell_line(run))

    # -- genotypes and configs --------------------------------------------
    def choose_base(self, source: str) -> str:
        """The retrain recipe, from ``--eval-config`` or the variant the
        first searched genotype records."""
        if self.base is not None:
            return self.base
        variant = read_search_space(source)
        base = self.options.eval_config
        if base is None:
            if variant is None:
                raise ConfigError(
                    f'{source} records no search-space variant: pass '
                    '--eval-config (the evaluation config that retrains '
                    'the genotypes)')
            base, reason = pick_base(
                variant, shipped_bases(osp.join(self.repo_root, 'configs',
                                                'nets')))
            self.echo(f'retrain recipe {shown_path(base)}: {reason}')
        elif variant is not None:
            check_base(variant, base, Config.fromfile(base), source, None)
        checked_config(base, self.retrain_parsed, 'evaluation config',
                       '--cfg-options/--retrain-cfg-options')
        self.base = base
        return base

    def write_config(self, folder: str, genotype: Genotype,
                     source: str) -> str:
        """Writes a genotype's retrain config (when its text changed)."""
        path = osp.join(folder, RETRAIN_CONFIG)
        text = config_text(genotype.to_json(), self.base, path, source,
                           writer=WRITER)
        old = None
        if osp.isfile(path):
            with open(path, encoding='utf-8') as file:
                old = file.read()
        if old != text:
            atomic_write_text(path, text)
        return path

    def retrain_cfg(self, config: str) -> Config:
        cfg = Config.fromfile(config)
        cfg.merge_from_dict(self.retrain_parsed)
        fit_head_to_backbone(cfg)
        return cfg

    def complexity(self, config: str) -> dict:
        """Params and FLOPs of a retrain config's network (with the
        retrain options)."""
        if config not in self._complexity:
            self._complexity[config] = model_complexity(
                self.retrain_cfg(config))
        return self._complexity[config]

    def params_of(self, genotype: Genotype) -> int:
        """The parameters of the recipe's network with ``genotype``."""
        cfg = Config.fromfile(self.base)
        cfg.merge_from_dict(self.retrain_parsed)
        cfg.model.backbone.genotype = genotype.to_dict()
        fit_head_to_backbone(cfg)
        model = build_counted_model(cfg.model,
                                    cfg.get('default_scope', 'mmista'))
        return count_params(model)['params']

    def random_genotypes(self, searched: List[Genotype],
                         targets: List[int]) -> List[Dict]:
        """The K random genotypes: read from ``random/genotypes.json``,
        the missing ones drawn and the file rewritten."""
        opts = self.options
        path = osp.join(self.root, 'random', RANDOM_FILE)
        record = dict(
            seed=opts.random_seed, match_params=opts.match_params,
            genotypes=[])
        if osp.isfile(path):
            try:
                with open(path, encoding='utf-8') as file:
                    record = json.load(file)
            except (OSError, ValueError) as error:
                raise UserError(f'cannot read {path}: {error}; delete it to '
                                'draw the random genotypes again')
            items = record.get('genotypes') if isinstance(record,
                                                          dict) else None
            if not isinstance(items, list) or not all(
                    isinstance(item, dict) and isinstance(item.get('id'), int)
                    and isinstance(item.get('genotype'), dict)
                    for item in items):
                raise UserError(f'{path} is not a record of random genotypes '
                                '(a list of id and genotype under '
                                '"genotypes"); delete it to draw them again')
            if (record.get('seed'), record.get('match_params')) != (
                    opts.random_seed, opts.match_params):
                raise ConfigError(
                    f'{path} was drawn with --random-seed '
                    f'{record.get("seed")} and --match-params '
                    f'{record.get("match_params")}, not {opts.random_seed} '
                    f'and {opts.match_params}: pass those, or another '
                    '--work-dir')
        have = {item['id'] for item in record['genotypes']}
        wanted = [k for k in range(opts.random) if k not in have]
        if wanted:
            drawn = draw_random_genotypes(
                searched,
                wanted,
                opts.random_seed,
                params_of=self.params_of,
                target_params=targets,
                tolerance=opts.match_params,
                max_tries=opts.match_tries)
            for item in drawn:
                item['searched_params'] = targets
                self.echo(f'drew random genotype g{item["id"]} in '
                          f'{item["tries"]} draw(s)')
            record['genotypes'] = sorted(
                record['genotypes'] + drawn, key=lambda item: item['id'])
            atomic_write_text(path, json.dumps(record, indent=2) + '\n')
        return [item for item in record['genotypes']
                if item['id'] < opts.random]

    # -- the protocol -----------------------------------------------------
    def check(self) -> None:
        """Refuses bad configs and overrides before anything runs."""
        opts = self.options
        cfg = checked_config(opts.config, self.search_parsed,
                             'search config',
                             '--cfg-options/--search-cfg-options')
        check_search(cfg, opts.config)
        if opts.eval_config is not None:
            checked_config(opts.eval_config, self.retrain_parsed,
                           'evaluation config',
                           '--cfg-options/--retrain-cfg-options')
        check_writable(self.root)

    def run(self) -> Dict:
        """Runs the protocol and writes its results.

        Returns:
            dict: ``rows``, ``summary``, ``failures`` and the paths of
            ``report``, ``csv``, ``json`` and ``plot``.
        """
        self.check()
        searches = [
            Run('search', None, s, osp.abspath(self.options.config),
                osp.join(self.root, 'search', f'seed_{s}'),
                self.search_options) for s in range(self.options.searches)
        ]
        status = {run.seed: self.process(run) for run in searches}
        found = {
            run.seed: (get_genotype(genotype_file(run.work_dir)),
                       genotype_file(run.work_dir))
            for run in searches if status[run.seed] == 'finished'
        }
        if found:
            self.choose_base(found[min(found)][1])
        rows = self.ista_retrains(searches, status, found)
        settled = 'not run' not in status.values()
        rows += self.random_retrains(found if settled else {})
        return self.finish(rows, searches, found)

    def ista_retrains(self, searches: List[Run], status: Dict[int, str],
                      found: Dict[int, Tuple[Genotype, str]]) -> List[Dict]:
        """Runs (or prints) the retrains of every searched genotype."""
        rows = []
        for search in searches:
            s = search.seed
            folder = osp.join(self.root, 'ista', f'g{s}')
            config = osp.join(folder, RETRAIN_CONFIG)
            if s in found:
                config = self.write_config(folder, *found[s])
            on = None if s in found else search.name + (
                ', which failed' if status[s] == 'failed' else '')
            for r in range(self.options.retrains):
                run = Run('ista', f'g{s}', r, config,
                          osp.join(folder, f'seed_{r}'),
                          self.retrain_options)
                row = self.retrain(run, found.get(s), on=on)
                row['search_seed'] = s
                row['supernet_accuracy'] = self.supernet_accuracy(
                    search) if s in found else None
                rows.append(row)
        return rows

    def random_retrains(
            self, found: Dict[int, Tuple[Genotype, str]]) -> List[Dict]:
        """Draws (or reads) the random genotypes and runs (or prints) their
        retrains; without ``found`` (the searches are not all settled)
        they wait."""
        opts = self.options
        items = {}
        if opts.random and found:
            targets = [
                self.complexity(
                    osp.join(self.root, 'ista', f'g{s}',
                             RETRAIN_CONFIG))['params'] for s in sorted(found)
            ] if opts.match_params is not None else []
            items = {
                item['id']: item
                for item in self.random_genotypes(
                    [found[s][0] for s in sorted(found)], targets)
            }
        random_file = osp.join(self.root, 'random', RANDOM_FILE)
        rows = []
        for k in range(opts.random):
            folder = osp.join(self.root, 'random', f'g{k}')
            config = osp.join(folder, RETRAIN_CONFIG)
            genotype = None
            if k in items:
                genotype = Genotype.from_dict(items[k]['genotype'])
                config = self.write_config(
                    folder, genotype,
                    f'random genotype g{k} of {random_file} (seed '
                    f'{opts.random_seed})')
            for r in range(opts.retrains):
                run = Run('random', f'g{k}', r, config,
                          osp.join(folder, f'seed_{r}'),
                          self.retrain_options)
                row = self.retrain(
                    run, (genotype, config) if genotype else None,
                    on=None if genotype else 'the searches (the random '
                    'genotypes take their sparsity and sizes)')
                row['search_seed'] = None
                row['supernet_accuracy'] = None
                rows.append(row)
        return rows

    def retrain(self, run: Run, genotype: Optional[Tuple[Genotype, str]],
                on: Optional[str]) -> Dict:
        """Runs (or prints) one retrain and returns its row."""
        row = dict(
            method=run.method,
            genotype_id=run.genotype_id,
            retrain_seed=run.seed,
            work_dir=run.work_dir,
            genotype=None,
            params=None,
            flops=None,
            accuracy=None,
            wall_s=None,
            note='')
        if genotype is None:
            self.waiting(run, on)
            row['status'] = 'waiting'
            row['note'] = f'waits for {on}'
            return row
        row['genotype'] = str(genotype[0])
        counts = self.complexity(run.config)
        row['params'], row['flops'] = counts['params'], counts['flops']
        status = self.process(run)
        row['status'] = status
        if status == 'failed':
            row['note'] = f'see {run.log}'
        elif status == 'not run':
            row['note'] = ('an earlier run failed (--keep-going goes on)'
                           if self.stopped else 'printed, not run')
        if status != 'finished':
            return row
        row['wall_s'] = wall_seconds(run)
        try:
            result = read_seed_run(run.work_dir, self.options.metric)
        except UserError as error:
            row['status'], row['note'] = 'no metric', str(error)
            return row
        row['accuracy'] = result.value
        if not math.isfinite(result.value):
            row['status'] = 'nan'
            row['note'] = f'its last {self.options.metric} is not finite'
        return row

    def supernet_accuracy(self, run: Run) -> Optional[float]:
        """The search run's last validation of the metric."""
        try:
            return read_seed_run(run.work_dir, self.options.metric).value
        except UserError:
            return None

    def finish(self, rows: List[Dict], searches: List[Run],
               found: Dict[int, Tuple[Genotype, str]]) -> Dict:
        """Writes runs.csv, runs.json, report.md and the plot."""
        opts = self.options
        summary = summarize(rows)
        settings = dict(
            config=opts.config,
            eval_config=self.base or opts.eval_config,
            searches=opts.searches,
            retrains=opts.retrains,
            random=opts.random,
            random_seed=opts.random_seed,
            match_params=opts.match_params,
            metric=opts.metric,
            launcher=self.launcher.kind,
            cfg_options=opts.cfg_options,
            search_cfg_options=opts.search_cfg_options,
            retrain_cfg_options=opts.retrain_cfg_options)
        settings['search_runs'] = [
            dict(seed=run.seed,
                 work_dir=run.work_dir,
                 status=('finished' if run.seed in found else
                         'failed' if run.name in self.failed else 'not run'),
                 genotype=str(found[run.seed][0]) if run.seed in found
                 else None,
                 supernet_accuracy=self.supernet_accuracy(run)
                 if run.seed in found else None,
                 wall_s=wall_seconds(run) if run.seed in found else None)
            for run in searches
        ]
        paths = dict(
            csv=osp.join(self.root, 'runs.csv'),
            json=osp.join(self.root, 'runs.json'),
            report=osp.join(self.root, 'report.md'),
            plot=osp.join(self.root, PLOT_FILE))
        write_results(rows, summary, settings, paths['csv'], paths['json'])
        plot_accuracy_vs_params(
            {method: genotype_means(rows, method)
             for method in ('ista', 'random')}, paths['plot'], opts.metric)
        atomic_write_text(paths['report'],
                          markdown(rows, summary, settings, PLOT_FILE))
        for key in ('report', 'csv', 'json', 'plot'):
            self.echo(f'wrote {paths[key]}')
        return dict(rows=rows, summary=summary, failures=self.failures,
                    **paths)
