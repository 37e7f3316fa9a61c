# Copyright (c) mmista contributors. All rights reserved.
"""The results of a search protocol: one row per retrain, the summary
statistics and the Markdown report
(``tools/analysis_tools/search_protocol.py``).

A row's ``accuracy`` counts only when its run finished with a finite
value; rows of runs that did not finish (``status`` ``failed``,
``not run``, ``waiting``) or whose accuracy is NaN (``nan``) are listed
but left out of every statistic, and the report says how many of the
requested runs each figure rests on.
"""
import csv
import io
import json
import math
from typing import Callable, Dict, List, Optional, Sequence

from mmista.evaluation import kendall_tau
from mmista.fileio import atomic_write_text
from .protocol_stats import finite, welch_t_test
from .seed_runs import mean_and_std

#: The columns of ``runs.csv``, in order.
COLUMNS = ('method', 'genotype_id', 'search_seed', 'retrain_seed',
           'status', 'accuracy', 'supernet_accuracy', 'params', 'flops',
           'genotype', 'work_dir', 'wall_s')
METHODS = ('ista', 'random')
METHOD_NAMES = {'ista': 'ISTA-NAS', 'random': 'random'}


def counted(row: Dict) -> bool:
    """Whether a row's accuracy enters the statistics."""
    return row['status'] == 'finished' and row['accuracy'] is not None \
        and math.isfinite(row['accuracy'])


def genotype_means(rows: Sequence[Dict], method: str) -> List[Dict]:
    """Per genotype of a method with a counted run: its id, search seed,
    super-net accuracy, params, FLOPs and the mean, std and number of its
    counted accuracies."""
    order, groups = [], {}
    for row in rows:
        if row['method'] != method or not counted(row):
            continue
        key = row['genotype_id']
        if key not in groups:
            order.append(key)
            groups[key] = dict(
                genotype_id=key,
                search_seed=row['search_seed'],
                supernet_accuracy=row['supernet_accuracy'],
                params=row['params'],
                flops=row['flops'],
                accuracies=[])
        groups[key]['accuracies'].append(row['accuracy'])
    means = []
    for key in order:
        group = groups[key]
        group['mean'], group['std'] = mean_and_std(group['accuracies'])
        group['n'] = len(group['accuracies'])
        means.append(group)
    return means


def _mean_std(values: Sequence[float]) -> Optional[Dict]:
    if not values:
        return None
    mean, std = mean_and_std(list(values))
    return dict(mean=mean, std=std, n=len(values))


def summarize(rows: Sequence[Dict]) -> Dict:
    """The protocol's statistics.

    Args:
        rows (Sequence[dict]): One per retrain (:data:`COLUMNS`).

    Returns:
        dict: ``methods`` (per method: requested and finished runs, mean
        ± std over runs and over genotype means, the genotypes' mean
        parameter count), ``best_of_n`` (the search with the best
        super-net accuracy and its retrains), ``welch`` (ISTA-NAS against
        random over genotype means) and ``kendall_tau`` (super-net
        against retrained accuracy over the searches); a figure that
        cannot be computed holds ``None`` and its reason under ``why``.
    """
    methods = {}
    means = {method: genotype_means(rows, method) for method in METHODS}
    for method in METHODS:
        mine = [row for row in rows if row['method'] == method]
        accuracies = [row['accuracy'] for row in mine if counted(row)]
        params = finite([g['params'] for g in means[method]])
        methods[method] = dict(
            requested=len(mine),
            finished=len(accuracies),
            genotypes_requested=len({row['genotype_id'] for row in mine}),
            genotypes=len(means[method]),
            runs=_mean_std(accuracies),
            genotype_means=_mean_std([g['mean'] for g in means[method]]),
            params=sum(params) / len(params) if params else None)
    return dict(
        methods=methods,
        best_of_n=_best_of_n(means['ista']),
        welch=_welch(means),
        kendall_tau=_kendall(means['ista']))


def _best_of_n(ista: Sequence[Dict]) -> Dict:
    scored = [g for g in ista if g['supernet_accuracy'] is not None
              and math.isfinite(g['supernet_accuracy'])]
    if not scored:
        return dict(value=None, why='no search with a finished retrain has '
                    'a finite super-net accuracy')
    best = max(scored, key=lambda g: g['supernet_accuracy'])
    return dict(
        value=dict(
            genotype_id=best['genotype_id'],
            search_seed=best['search_seed'],
            supernet_accuracy=best['supernet_accuracy'],
            mean=best['mean'],
            std=best['std'],
            n=best['n']),
        searches=len(scored),
        why=None)


def _welch(means: Dict[str, List[Dict]]) -> Dict:
    a = [g['mean'] for g in means['ista']]
    b = [g['mean'] for g in means['random']]
    try:
        return dict(value=welch_t_test(a, b), why=None)
    except ValueError as error:
        return dict(value=None, why=str(error))


def _kendall(ista: Sequence[Dict]) -> Dict:
    pairs = [(g['supernet_accuracy'], g['mean']) for g in ista
             if g['supernet_accuracy'] is not None
             and math.isfinite(g['supernet_accuracy'])]
    try:
        return dict(
            value=kendall_tau([p[0] for p in pairs], [p[1] for p in pairs]),
            why=None)
    except ValueError as error:
        return dict(value=None, why=str(error))


def _cell(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return 'nan' if math.isnan(value) else repr(value)
    return str(value)


def rows_csv(rows: Sequence[Dict]) -> str:
    """The rows as CSV text (:data:`COLUMNS`; empty cells for None)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def write_results(rows: Sequence[Dict], summary: Dict, settings: Dict,
                  csv_path: str, json_path: str) -> None:
    """Writes ``runs.csv`` and ``runs.json`` (settings, rows, summary;
    NaN as null), each atomically."""
    atomic_write_text(csv_path, rows_csv(rows))
    atomic_write_text(
        json_path,
        json.dumps(
            _json_safe(dict(settings=settings, runs=list(rows),
                            summary=summary)),
            indent=2) + '\n')


def _acc(stat: Optional[Dict]) -> str:
    if stat is None:
        return 'n/a'
    if stat['n'] == 1:  # no spread to show
        return f'{stat["mean"]:.2f} (n=1)'
    return f'{stat["mean"]:.2f} ± {stat["std"]:.2f} (n={stat["n"]})'


def _params(value: Optional[float]) -> str:
    return 'n/a' if value is None else f'{value / 1e6:.4g}'


def _count(number: int, one: str, many: str) -> str:
    return f'{number} {one if number == 1 else many}'


def _result_section(title: str, result: dict,
                    describe: Callable[[dict], str]) -> List[str]:
    """The lines of a report section on one statistic: ``describe`` of its
    ``value``, or why it was not computed.

    Args:
        title (str): The section's heading.
        result (dict): ``value`` (None when not computed) and ``why``.
        describe (Callable[[dict], str]): The sentence of a value.

    Returns:
        list[str]: The lines, a blank line and the heading first.
    """
    value = result['value']
    text = f'Not computed: {result["why"]}.' if value is None \
        else describe(value)
    return ['', f'## {title}', '', text]


def markdown(rows: Sequence[Dict], summary: Dict, settings: Dict,
             plot: Optional[str]) -> str:
    """The report: the table per method, best-of-N, Welch's test, Kendall's
    tau, the plot and every genotype's runs.

    Args:
        rows (Sequence[dict]): The retrain rows.
        summary (dict): From :func:`summarize`.
        settings (dict): ``config``, ``searches``, ``retrains``,
            ``random`` and ``match_params`` of the protocol.
        plot (str, optional): The plot's file name, beside the report.

    Returns:
        str: Markdown text.
    """
    methods = summary['methods']
    match = settings.get('match_params')
    matched = (f', parameters within ±{match:.0%} of a searched genotype'
               if match is not None else '')
    random = _count(settings['random'], 'random genotype', 'random genotypes')
    lines = [
        '# Search protocol', '',
        f'Search config `{settings["config"]}`: '
        f'{_count(settings["searches"], "search", "searches")}, each '
        'genotype retrained with '
        f'{_count(settings["retrains"], "seed", "seeds")}; {random} of the '
        f'same sparsity{matched}, retrained by the same recipe. Accuracies '
        'are the final validation '
        f'{settings.get("metric", "accuracy/top1")} (%).', '',
        '## Accuracy per method', '',
        '| method | genotypes | runs finished / requested | accuracy over '
        'runs | over genotype means | params (M) |',
        '| --- | --- | --- | --- | --- | --- |'
    ]
    short = []
    for method in METHODS:
        stat = methods[method]
        finished = f'{stat["finished"]} / {stat["requested"]}'
        if stat['finished'] < stat['requested']:
            finished += ' (incomplete)'
            short.append(method)
        lines.append(
            f'| {METHOD_NAMES[method]} | {stat["genotypes"]} / '
            f'{stat["genotypes_requested"]} | {finished} | '
            f'{_acc(stat["runs"])} | {_acc(stat["genotype_means"])} | '
            f'{_params(stat["params"])} |')
    lines.append('')
    lines.append('Mean ± sample standard deviation (n - 1).')
    if short:
        lines.append(
            '**Fewer runs finished than requested** for ' +
            ', '.join(METHOD_NAMES[m] for m in short) +
            ': the figures rest on the finished runs only (see "Runs not '
            'counted" below).')
    lines += _result_section(
        'Best of N searches', summary['best_of_n'], lambda value: (
            f'The search with the best super-net validation accuracy of '
            f'{summary["best_of_n"]["searches"]} (seed '
            f'{value["search_seed"]}, genotype {value["genotype_id"]}: '
            f'{value["supernet_accuracy"]:.2f}) retrains to {_acc(value)}.'))
    lines += _result_section(
        'ISTA-NAS against random (Welch\'s t-test)', summary['welch'],
        lambda value: (
            f'Over the genotypes\' mean accuracies (one value per searched '
            f'or random genotype; the retrain seeds of one genotype are not '
            f'independent samples of its method): ISTA-NAS '
            f'{value["mean_a"]:.2f} (n={value["n_a"]}) against random '
            f'{value["mean_b"]:.2f} (n={value["n_b"]}), difference '
            f'{value["difference"]:+.2f}, t = {value["t"]:.3f}, '
            f'df = {value["df"]:.2f}, two-sided p = {value["p"]:.3g}.'))
    lines += _result_section(
        'Super-net against retrained accuracy (Kendall\'s tau)',
        summary['kendall_tau'], lambda value: (
            f'tau = {value["tau"]:.3f} over {value["n"]} searches '
            f'({value["concordant"]} concordant, {value["discordant"]} '
            'discordant pairs): 1 means the super-net ranks the searches as '
            'their retrains do.'))
    if plot:
        lines += ['', '## Accuracy against parameters', '',
                  f'![accuracy against parameters]({plot})']
    lines += [
        '', '## Genotypes', '',
        '| method | genotype | search seed | params | FLOPs | super-net '
        'accuracy | retrained accuracies | mean ± std |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    for method in METHODS:
        ids = []
        for row in rows:
            if row['method'] == method and row['genotype_id'] not in ids:
                ids.append(row['genotype_id'])
        for gid in ids:
            mine = [r for r in rows
                    if r['method'] == method and r['genotype_id'] == gid]
            first = mine[0]
            values = [r['accuracy'] for r in mine if counted(r)]
            accuracies = ', '.join(
                f'{r["accuracy"]:.2f}' if counted(r) else r['status']
                for r in mine)
            supernet = first['supernet_accuracy']
            lines.append(
                f'| {METHOD_NAMES[method]} | {gid} | '
                f'{_cell(first["search_seed"])} | {_cell(first["params"])} | '
                f'{_cell(first["flops"])} | '
                f'{"" if supernet is None else f"{supernet:.2f}"} | '
                f'{accuracies} | {_acc(_mean_std(values))} |')
    missing = [row for row in rows if not counted(row)]
    if missing:
        lines += ['', '## Runs not counted', '']
        for row in missing:
            note = f' ({row["note"]})' if row.get('note') else ''
            lines.append(f'- {row["method"]}/{row["genotype_id"]}/seed_'
                         f'{row["retrain_seed"]}: {row["status"]}{note} '
                         f'({row["work_dir"]})')
    return '\n'.join(lines) + '\n'
