# Copyright (c) mmista contributors. All rights reserved.
"""Print a config's model size and FLOPs as one JSON object.

``params`` counts every model parameter except the auxiliary head's (the
convention of the DARTS-family papers); ``flops`` are multiply-accumulates
of one image at the input size, in eval mode (no auxiliary head). The
counter is :mod:`mmista.analysis.complexity`, the one a search's resource
budget uses.
"""
import argparse
import json
import sys

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis import model_complexity
from mmista.cli import (add_cfg_options, fit_head_to_backbone, load_config,
                        reported_errors)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input height [width]; defaults to 224 for the ImageNet stem '
        'and 32 otherwise')
    add_cfg_options(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    with reported_errors():
        for change in fit_head_to_backbone(cfg):
            print(change, file=sys.stderr)
        print(json.dumps(model_complexity(cfg, args.shape)))


if __name__ == '__main__':
    main()
