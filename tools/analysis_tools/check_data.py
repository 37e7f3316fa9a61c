# Copyright (c) mmista contributors. All rights reserved.
"""Check that a config's data is there and readable, before a long run.

Builds every dataloader's dataset (train, arch, val, test) as the run
would, checks that every image it lists is a file, reads a few samples
through its pipeline and prints one line per dataloader: the dataset, its
folder, how many images and classes, the shape of a sample. Exits 0 when
all is well; otherwise 1, with one ``error:`` line naming the config key
and the file or folder at fault.
"""
import argparse
import sys

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import add_cfg_options, load_config, reported_errors
from mmista.cli.data_report import check_config_data
from mmista.cli.data_root import set_data_root


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--data-root',
        help='read the data from this folder: sets data_root in every '
        'dataset of the config that has one (as tools/train.py '
        '--data-root does)')
    parser.add_argument(
        '--read',
        type=int,
        default=4,
        help='samples read through the pipeline per dataset (default 4)')
    add_cfg_options(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with reported_errors():
        cfg = load_config(args.config, args.cfg_options)
        if args.data_root is not None:
            keys = set_data_root(cfg, args.data_root)
            print(f'--data-root: set {", ".join(keys)} to {args.data_root}')
        for report in check_config_data(cfg, num_read=max(args.read, 1)):
            print(report.line())
        print(f'data of {args.config}: ok', file=sys.stderr)


if __name__ == '__main__':
    main()
