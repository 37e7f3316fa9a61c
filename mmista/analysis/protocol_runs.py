# Copyright (c) mmista contributors. All rights reserved.
"""The runs of a search protocol: each an ordinary ``tools/train.py`` run
in a work dir of its own, how each launcher starts it, and whether it has
finished.

A run is finished when the protocol's done marker (:data:`DONE_FILE`,
written atomically after the run exited with status 0) is in its work
dir and what the run leaves behind is still there: the checkpoint
``last_checkpoint`` names and, for a search, its genotype file. Every
command carries ``--resume`` (without a path): a run that was interrupted
continues from the newest intact checkpoint of its work dir, one that
never started starts from scratch.
"""
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple

from mmista.cli import newest_intact_checkpoint
from mmista.fileio import atomic_write_text

#: The protocol's marker of a run that exited with status 0.
DONE_FILE = 'protocol_done.json'
#: The run's output (stdout and stderr of every attempt), in its work dir.
RUN_LOG = 'protocol_run.log'
#: The launchers and the script of ``tools/`` each goes through.
LAUNCHERS = ('local', 'dist', 'slurm')
#: A search's genotype: the export's (one-stage), else the work dir's
#: (two-stage: the last recovery).
GENOTYPE_FILES = (osp.join('export', 'genotype.json'), 'genotype.json')


@dataclass
class Run:
    """One training run of the protocol.

    Args:
        method (str): ``'search'``, ``'ista'`` or ``'random'``.
        genotype_id (str, optional): ``'g0'``...: the genotype a retrain
            trains (None for a search).
        seed (int): Its ``randomness.seed``.
        config (str): The config file.
        work_dir (str): Its work dir.
        options (list[str]): Further ``--cfg-options`` (``key=value``).
    """

    method: str
    genotype_id: Optional[str]
    seed: int
    config: str
    work_dir: str
    options: List[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """str: ``search/seed_0``, ``ista/g0/seed_1``..."""
        parts = [self.method] + ([self.genotype_id] if self.genotype_id
                                 else []) + [f'seed_{self.seed}']
        return '/'.join(parts)

    @property
    def log(self) -> str:
        """str: The file the protocol writes the run's output to."""
        return osp.join(self.work_dir, RUN_LOG)

    def train_args(self) -> List[str]:
        """The arguments of ``tools/train.py`` after the config."""
        return [
            '--work-dir', self.work_dir, '--resume', '--cfg-options',
            f'randomness.seed={self.seed}', *self.options
        ]


@dataclass
class Launcher:
    """How the runs are started.

    Args:
        kind (str): ``'local'`` (a process of this Python), ``'dist'``
            (``tools/dist_train.sh``, ``gpus`` processes) or ``'slurm'``
            (``tools/slurm_train.sh``, ``gpus`` tasks).
        tools_dir (str): The repository's ``tools/`` folder.
        gpus (int): Processes (dist) or GPUs (slurm) per run. Defaults to
            1.
        partition (str, optional): The SLURM partition.
        job_name (str): The prefix of SLURM job names. Defaults to
            ``'protocol'``.
    """

    kind: str
    tools_dir: str
    gpus: int = 1
    partition: Optional[str] = None
    job_name: str = 'protocol'

    def command(self, run: Run) -> Tuple[Dict[str, str], List[str]]:
        """The environment variables it sets and the command of a run."""
        if self.kind == 'local':
            return {}, [
                sys.executable,
                osp.join(self.tools_dir, 'train.py'), run.config,
                *run.train_args()
            ]
        if self.kind == 'dist':
            return {}, [
                'bash',
                osp.join(self.tools_dir, 'dist_train.sh'), run.config,
                str(self.gpus), *run.train_args()
            ]
        job = f'{self.job_name}_{run.name.replace("/", "_")}'
        env = dict(
            GPUS=str(self.gpus), GPUS_PER_NODE=str(min(self.gpus, 8)))
        # slurm_train.sh takes the work dir as its fourth argument
        rest = run.train_args()[2:]
        return env, [
            'bash',
            osp.join(self.tools_dir, 'slurm_train.sh'), self.partition, job,
            run.config, run.work_dir, *rest
        ]

    def shell_line(self, run: Run) -> str:
        """The command of a run as one shell line (what is run)."""
        env, argv = self.command(run)
        prefix = ''.join(f'{key}={shlex.quote(value)} '
                         for key, value in env.items())
        return prefix + shlex.join(argv)


def genotype_file(work_dir: str) -> Optional[str]:
    """The genotype a search work dir holds (:data:`GENOTYPE_FILES`)."""
    for name in GENOTYPE_FILES:
        path = osp.join(work_dir, name)
        if osp.isfile(path):
            return path
    return None


def missing_outputs(run: Run) -> List[str]:
    """What a finished run should have left and has not."""
    missing = []
    try:
        with open(osp.join(run.work_dir, 'last_checkpoint')) as file:
            named = file.read().strip()
    except OSError:
        named = ''
    if not named or not (osp.isfile(named) or osp.isfile(
            osp.join(run.work_dir, osp.basename(named)))):
        missing.append('last checkpoint')
    if run.method == 'search' and genotype_file(run.work_dir) is None:
        missing.append('genotype file (export/genotype.json or '
                       'genotype.json)')
    return missing


def run_state(run: Run) -> Tuple[str, str]:
    """Where a run stands.

    Returns:
        tuple[str, str]: ``('finished', '')``, ``('resume', why)`` (an
        interrupted run, or a done marker whose outputs are gone),
        ``('new', '')``.
    """
    marker = osp.join(run.work_dir, DONE_FILE)
    if osp.isfile(marker):
        try:
            with open(marker) as file:
                done = json.load(file).get('returncode') == 0
        except (OSError, ValueError, AttributeError):
            done = False
        missing = missing_outputs(run)
        if done and not missing:
            return 'finished', ''
        if done:
            return 'resume', (f'its done marker is there but no '
                              f'{" and no ".join(missing)}')
    checkpoint = newest_intact_checkpoint(run.work_dir) if osp.isdir(
        run.work_dir) else None
    if checkpoint is not None:
        return 'resume', f'interrupted; resuming from {checkpoint}'
    return 'new', ''


def tail(path: str, lines: int = 15) -> str:
    """The last lines of a text file ('' if it cannot be read)."""
    try:
        with open(path, encoding='utf-8', errors='replace') as file:
            return '\n'.join(file.read().splitlines()[-lines:])
    except OSError:
        return ''


def execute(run: Run, launcher: Launcher, repo_root: str) -> Optional[str]:
    """Runs one run to its end and marks it done.

    The output of every attempt is appended to :attr:`Run.log`. After an
    exit status of 0 whose outputs are all there, :data:`DONE_FILE` is
    written (atomically) with the command, the status and the wall time.

    Args:
        run (Run): The run.
        launcher (Launcher): How to start it.
        repo_root (str): Put first on ``PYTHONPATH`` (as the launcher
            scripts do).

    Returns:
        str | None: Why it failed, or None.
    """
    extra, argv = launcher.command(run)
    env = dict(os.environ, **extra)
    env['PYTHONPATH'] = repo_root + (os.pathsep + env['PYTHONPATH']
                                     if env.get('PYTHONPATH') else '')
    os.makedirs(run.work_dir, exist_ok=True)
    marker = osp.join(run.work_dir, DONE_FILE)
    if osp.exists(marker):
        os.remove(marker)
    start = time.perf_counter()
    with open(run.log, 'a', encoding='utf-8') as log:
        log.write(f'# {datetime.now(timezone.utc).isoformat()} '
                  f'{launcher.shell_line(run)}\n')
        log.flush()
        code = subprocess.call(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    wall_s = time.perf_counter() - start
    if code != 0:
        return f'exit status {code}'
    missing = missing_outputs(run)
    if missing:
        return f'exit status 0, but it left no {" and no ".join(missing)}'
    atomic_write_text(
        marker,
        json.dumps(
            dict(
                run=run.name,
                command=launcher.shell_line(run),
                returncode=code,
                wall_s=wall_s,
                finished=datetime.now(timezone.utc).isoformat()),
            indent=2) + '\n')
    return None


def wall_seconds(run: Run) -> Optional[float]:
    """The wall time the done marker records (the last attempt's)."""
    try:
        with open(osp.join(run.work_dir, DONE_FILE)) as file:
            return float(json.load(file)['wall_s'])
    except (OSError, ValueError, KeyError, TypeError):
        return None
