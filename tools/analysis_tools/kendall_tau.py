# Copyright (c) mmista contributors. All rights reserved.
"""Kendall's tau between super-net and evaluated accuracies of several runs.

Does the search rank its runs the way evaluation does? Give one pair per
run, ``super-net accuracy,evaluated accuracy``, on the command line or in a
CSV file (one pair per line; a header line and ``#`` comments are skipped)::

    python tools/analysis_tools/kendall_tau.py --pairs 71.2,97.1 73.0,97.4
    python tools/analysis_tools/kendall_tau.py runs.csv

Prints one JSON object: ``tau`` (1: same order, -1: reversed, 0: none),
``n`` runs and the concordant/discordant pair counts.
"""
import argparse
import json
import sys
from typing import List, Tuple

from mmista.evaluation import kendall_tau


def parse_pair(text: str, where: str) -> Tuple[float, float]:
    """Reads ``a,b`` as two floats."""
    parts = [p.strip() for p in text.split(',')]
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(
            f'{where}: expected "supernet_accuracy,evaluated_accuracy", got '
            f'{text!r}') from None


def read_pairs(path: str) -> List[Tuple[float, float]]:
    """Reads the pairs of a CSV file, skipping a header and comments."""
    pairs = []
    with open(path) as file:
        for number, line in enumerate(file, 1):
            line = line.split('#')[0].strip()
            if not line:
                continue
            try:
                pairs.append(parse_pair(line, f'{path}:{number}'))
            except ValueError:
                if pairs or number > 1:
                    raise
    return pairs


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('csv', nargs='?', help='CSV file of pairs')
    parser.add_argument('--pairs', nargs='+', help='pairs a,b')
    args = parser.parse_args()
    if bool(args.csv) == bool(args.pairs):
        parser.error('give either a CSV file or --pairs')
    try:
        if args.csv:
            pairs = read_pairs(args.csv)
        else:
            pairs = [
                parse_pair(p, f'--pairs item {i + 1}')
                for i, p in enumerate(args.pairs)
            ]
        result = kendall_tau([a for a, _ in pairs], [b for _, b in pairs])
    except (OSError, ValueError) as err:
        sys.exit(f'error: {err}')
    print(json.dumps(result))


if __name__ == '__main__':
    main()
