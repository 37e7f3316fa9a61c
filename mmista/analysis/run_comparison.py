# Copyright (c) mmista contributors. All rights reserved.
"""A whole one-stage run against retraining its genotype, from the
:meth:`RunProfile.summary` of each run
(``tools/analysis_tools/benchmark_run.py``).

A one-stage run has two phases, ``search`` (the super-net, recovering
every epoch) and ``evaluation`` (the fixed network); the retrain has one,
``train``. Everything here is arithmetic on the runs' summaries: medians
over the repetitions, ratios, the epoch-boundary work grouped by what it
does, and what the ratios imply at the paper's CIFAR-10 scale.
"""
from typing import Dict, List, Optional

from .run_profile import median

#: Upper (``max``) bounds of the headline figures.
TARGETS = {
    'run_over_retrain': ('max', 1.05),
    'evaluation_iter_over_retrain': ('max', 1.02),
    'search_iter_over_retrain': ('max', 1.05),
}
SEARCH, EVALUATION, RETRAIN = 'search', 'evaluation', 'train'
#: The iteration figures of a phase that are compared.
ITER_FIGURES = ('iter_s', 'step_s', 'hooks_s', 'data_s')
#: Epoch-boundary groups, each a hook class whose methods it sums.
HOOK_GROUPS = {
    'recovery': 'ArchitectureRecoveryHook',
    'termination': 'TerminationHook',
    'bn_freeze': 'EdgeBNFreezeHook',
    'phase_switch': 'PhaseSwitchHook',
    'drop_path': 'DropPathRampHook',
    'checkpoint': 'CrashSafeCheckpointHook',
    'export': 'ExportHook',
    'duration_estimate': 'DurationEstimateHook',
}
#: Methods of the recovery hook timed as ``inner`` methods and taken out
#: of ``recovery``: ``drawings`` (each recovered genotype's JSON files and
#: cell drawings), ``plots`` (the z convergence plot at the end).
INNER_GROUPS = {
    'drawings': ('ArchitectureRecoveryHook', 'save'),
    'plots': ('ArchitectureRecoveryHook', 'plot_convergence'),
}
#: Groups that happen once per run, not per epoch.
ONCE_PER_RUN = ('export', 'duration_estimate', 'plots')
#: The paper's CIFAR-10 one-stage run: epochs of each phase, iterations
#: per epoch (50,000 images, batch 96).
CIFAR10 = dict(search_epochs=120, eval_epochs=600, iters_per_epoch=521)


def ratio(top: Optional[float], bottom: Optional[float]) -> Optional[float]:
    """``top / bottom``, None when either is missing or ``bottom`` is 0."""
    if top is None or not bottom:
        return None
    return top / bottom


def boundary_groups(boundary_hooks: Dict[str, dict],
                    inner: Dict[str, dict]) -> Dict[str, float]:
    """The seconds of the epoch-boundary hook methods, grouped.

    Hook methods of the validation loop (``*_val*``) run inside the
    validations, which are timed whole, so they are not counted here.
    ``before_save_checkpoint`` hooks run inside the checkpoint hook's
    save: part of ``checkpoint`` already.

    Args:
        boundary_hooks (dict): ``RunProfile.summary()['boundary_hooks']``
            (or a phase's).
        inner (dict): Its ``inner`` methods.

    Returns:
        dict[str, float]: Seconds per group of :data:`HOOK_GROUPS`, of
        :data:`INNER_GROUPS`, then ``other``.
    """
    groups = dict.fromkeys(
        list(HOOK_GROUPS) + list(INNER_GROUPS) + ['other'], 0.)
    by_class = {name: group for group, name in HOOK_GROUPS.items()}
    for key, row in boundary_hooks.items():
        name, method = key.split('.', 1)
        if '_val' in method or method == 'before_save_checkpoint':
            continue
        groups[by_class.get(name, 'other')] += row['total_s']
    for group, method in INNER_GROUPS.items():
        row = inner.get('.'.join(method))
        if row:
            groups[group] = row['total_s']
            groups['recovery'] -= row['total_s']
    return groups


def run_row(kind: str, rep: int, wall_s: float, summary: dict) -> dict:
    """One run's row of the report.

    Args:
        kind (str): ``'search'`` or ``'retrain'``.
        rep (int): The repetition.
        wall_s (float): The subprocess's wall time (start-up included).
        summary (dict): What the run wrote (its profile's summary plus
            ``epochs`` and ``iters_per_epoch``).

    Returns:
        dict: ``kind``, ``rep``, ``wall_s``, ``train_s``, ``startup_s``
        (the rest of the wall time: imports, building, writing), the
        epochs, the phases' iteration medians and, per phase, the
        validation seconds and the boundary groups.
    """
    phases = {}
    for phase, row in summary['phases'].items():
        part = summary['by_phase'][phase]
        phases[phase] = dict(
            row,
            validation_s=part['validation_s'],
            validations=part['validations'],
            boundary=boundary_groups(part['boundary_hooks'], part['inner']),
            iteration_hooks_ms={
                key: hook['median_ms']
                for key, hook in part['iteration_hooks'].items()
            })
    return dict(
        kind=kind,
        rep=rep,
        wall_s=wall_s,
        train_s=summary['train_s'],
        startup_s=wall_s - summary['train_s'],
        epochs=summary['epochs'],
        fixed_epoch=summary.get('fixed_epoch'),
        iters_per_epoch=summary['iters_per_epoch'],
        validation_s=summary['validation_s'],
        boundary=boundary_groups(summary['boundary_hooks'],
                                 summary['inner']),
        phases=phases)


def kind_medians(rows: List[dict]) -> dict:
    """Medians over the runs of one kind.

    Returns:
        dict: ``runs``, ``wall_s``, ``train_s``, ``startup_s``,
        ``validation_s``, ``boundary`` (per group) and ``phases`` (per
        phase: :data:`ITER_FIGURES`, ``validation_s``, ``boundary`` and
        ``iteration_hooks_ms``), each the median over the runs.
    """
    phases = {}
    for phase in rows[0]['phases']:
        parts = [row['phases'][phase] for row in rows
                 if phase in row['phases']]
        phases[phase] = dict(
            {key: median([p[key] for p in parts])
             for key in ITER_FIGURES + ('iters', 'epochs', 'validation_s')},
            boundary=_median_dicts([p['boundary'] for p in parts]),
            iteration_hooks_ms=_median_dicts(
                [p['iteration_hooks_ms'] for p in parts]))
    return dict(
        runs=len(rows),
        **{key: median([row[key] for row in rows])
           for key in ('wall_s', 'train_s', 'startup_s', 'validation_s')},
        boundary=_median_dicts([row['boundary'] for row in rows]),
        phases=phases)


def _median_dicts(dicts: List[Dict[str, float]]) -> Dict[str, float]:
    keys = []
    for values in dicts:
        keys += [key for key in values if key not in keys]
    return {key: median([values.get(key) for values in dicts])
            for key in keys}


def cifar10_estimate(figures: dict, search: dict, retrain: dict,
                     iters_per_epoch: int) -> dict:
    """The whole-run ratio at the paper's CIFAR-10 scale (:data:`CIFAR10`).

    Per epoch, a phase costs ``iters_per_epoch`` iterations at its
    measured ratio to the retrain's iteration, plus its validations (the
    measured fraction of an epoch: they grow with the data, as the
    iterations do), plus its other epoch-boundary work (recoveries,
    checkpoints, ...: assumed to take the same seconds per epoch as
    measured, so a smaller fraction of CIFAR-10's longer epoch).

    Args:
        figures (dict): ``search_iter_over_retrain`` and
            ``evaluation_iter_over_retrain``.
        search (dict): :func:`kind_medians` of the one-stage runs.
        retrain (dict): :func:`kind_medians` of the retrains.
        iters_per_epoch (int): Iterations of a measured epoch.

    Returns:
        dict: ``iterations_only`` (the iteration ratios weighted by the
        epochs), ``with_epoch_boundaries``, the per-epoch fractions used
        and the ``assumption`` in words.
    """
    r_s, r_e = (figures['search_iter_over_retrain'],
                figures['evaluation_iter_over_retrain'])
    epochs = dict(
        search=CIFAR10['search_epochs'], evaluation=CIFAR10['eval_epochs'])
    total = sum(epochs.values())
    estimate = dict(
        epochs=epochs,
        iters_per_epoch=CIFAR10['iters_per_epoch'],
        measured_iters_per_epoch=iters_per_epoch,
        iterations_only=None,
        with_epoch_boundaries=None)
    if r_s is None or r_e is None:
        return estimate
    estimate['iterations_only'] = (epochs['search'] * r_s +
                                   epochs['evaluation'] * r_e) / total
    epoch_s = iters_per_epoch * retrain['phases'][RETRAIN]['iter_s']
    scale = iters_per_epoch / CIFAR10['iters_per_epoch']

    def per_epoch(phase_row: dict) -> Dict[str, float]:
        n = phase_row['epochs'] or 1
        fixed = sum(seconds for group, seconds in
                    phase_row['boundary'].items()
                    if group not in ONCE_PER_RUN)
        return dict(
            validation=phase_row['validation_s'] / n / epoch_s,
            boundary=fixed / n / epoch_s * scale)

    fractions = {
        SEARCH: per_epoch(search['phases'][SEARCH]),
        EVALUATION: per_epoch(search['phases'][EVALUATION]),
        RETRAIN: per_epoch(retrain['phases'][RETRAIN]),
    }
    run = sum(epochs[phase] * (r + sum(fractions[phase].values()))
              for phase, r in ((SEARCH, r_s), (EVALUATION, r_e)))
    baseline = total * (1 + sum(fractions[RETRAIN].values()))
    estimate.update(
        with_epoch_boundaries=run / baseline,
        per_epoch_fractions=fractions,
        assumption=(
            'an epoch of each phase costs iters_per_epoch iterations at '
            'the measured ratio to the retrain iteration; its validations '
            'the measured fraction of an epoch (they grow with the data); '
            'its other epoch-boundary work (recovery, termination, '
            'checkpoints, ...) the measured seconds per epoch, i.e. the '
            'measured fraction of an epoch times measured_iters_per_epoch '
            '/ iters_per_epoch (an upper bound if CIFAR-10 iterations are '
            'slower than these); once-per-run work (export, duration '
            'estimate, the convergence plot) is left out'))
    return estimate


def check_targets(figures: Dict[str, Optional[float]]) -> Dict[str, dict]:
    """The headline figures against :data:`TARGETS` (``holds`` None when a
    figure could not be measured)."""
    checked = {}
    for key, (kind, bound) in TARGETS.items():
        value = figures.get(key)
        holds = None if value is None else (
            value <= bound if kind == 'max' else value >= bound)
        checked[key] = dict(value=value, **{kind: bound}, holds=holds)
    return checked


def compare_runs(rows: List[dict]) -> dict:
    """The report's figures from every run's row (:func:`run_row`).

    Args:
        rows (list[dict]): Rows of both kinds, the pairs sharing ``rep``.

    Returns:
        dict: ``medians`` per kind, the headline ratios (see
        :data:`TARGETS`; ``None`` where a phase is missing),
        ``run_over_retrain_pairs``, the step ratios, the iteration hooks
        and epoch boundaries of both kinds, ``cifar10_estimate`` and
        ``targets``.
    """
    search_rows = [row for row in rows if row['kind'] == 'search']
    retrain_rows = [row for row in rows if row['kind'] == 'retrain']
    search, retrain = kind_medians(search_rows), kind_medians(retrain_rows)
    base = retrain['phases'][RETRAIN]
    walls = {(row['kind'], row['rep']): row['wall_s'] for row in rows}
    pairs = [
        ratio(walls[('search', rep)], walls[('retrain', rep)])
        for rep in sorted({row['rep'] for row in rows})
        if ('search', rep) in walls and ('retrain', rep) in walls
    ]
    figures = dict(run_over_retrain=ratio(search['wall_s'],
                                          retrain['wall_s']))
    for phase in (EVALUATION, SEARCH):
        row = search['phases'].get(phase, {})
        figures[f'{phase}_iter_over_retrain'] = ratio(
            row.get('iter_s'), base['iter_s'])
        figures[f'{phase}_step_over_retrain'] = ratio(
            row.get('step_s'), base['step_s'])
    report = dict(
        figures,
        run_over_retrain_pairs=pairs,
        train_over_retrain=ratio(search['train_s'], retrain['train_s']),
        medians=dict(search=search, retrain=retrain),
        iteration_hooks={
            kind: {
                phase: dict(
                    hooks_ms=1e3 * row['hooks_s']
                    if row['hooks_s'] is not None else None,
                    by_hook_ms=row['iteration_hooks_ms'])
                for phase, row in medians['phases'].items()
            }
            for kind, medians in (('search', search), ('retrain', retrain))
        },
        epoch_boundaries={
            kind: dict(
                validation_s=medians['validation_s'],
                **medians['boundary'],
                by_phase={
                    phase: dict(
                        epochs=row['epochs'],
                        validation_s=row['validation_s'],
                        **row['boundary'])
                    for phase, row in medians['phases'].items()
                })
            for kind, medians in (('search', search), ('retrain', retrain))
        },
        cifar10_estimate=cifar10_estimate(
            figures, search, retrain, retrain_rows[0]['iters_per_epoch']))
    report['targets'] = check_targets(
        {key: figures[key] for key in TARGETS})
    return report
