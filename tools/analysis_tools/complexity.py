# Copyright (c) mmista contributors. All rights reserved.
"""Print a config's model size and FLOPs as one JSON object.

``params`` counts every model parameter except the auxiliary head's (the
convention of the DARTS-family papers); ``flops`` are multiply-accumulates
of one image at the input size, in eval mode (no auxiliary head).
"""
import argparse
import json
import logging

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.cli import add_cfg_options, load_config
from mmista.registry import MODELS

DEFAULT_SIZES = {'imagenet': 224, 'cifar': 32}


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


def count_params(model: torch.nn.Module) -> dict:
    """Counts parameters with and without the auxiliary head.

    Args:
        model (nn.Module): The model.

    Returns:
        dict: ``params`` (without auxiliary head) and ``params_with_aux``.
    """
    total = aux = 0
    for name, param in model.named_parameters():
        total += param.numel()
        if '.aux_head.' in f'.{name}':
            aux += param.numel()
    return dict(params=total - aux, params_with_aux=total)


def model_complexity(cfg: Config, shape=None) -> dict:
    """Builds the config's model and measures its size and FLOPs.

    Args:
        cfg (Config): A config with a ``model`` entry.
        shape (Sequence[int], optional): Input height and width.

    Returns:
        dict: ``params``, ``params_with_aux``, ``params_m``, ``flops``,
        ``flops_g`` and ``input_shape``.
    """
    init_default_scope(cfg.get('default_scope', 'mmista'))
    model = MODELS.build(cfg.model)
    model.eval()
    if not shape:
        stem = cfg.model.get('backbone', {}).get('stem', 'cifar')
        shape = [DEFAULT_SIZES.get(stem, 32)]
    height, width = (shape[0], shape[0]) if len(shape) == 1 else shape[:2]
    in_channels = cfg.model.get('backbone', {}).get('in_channels', 3)
    inputs = torch.zeros(1, in_channels, height, width)
    result = count_params(model)
    # FlopAnalyzer logs one warning per parameter-free op type it skips.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(model, inputs=(inputs, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            flops = int(analyzer.total())
    finally:
        logger.setLevel(level)
    result.update(
        params_m=round(result['params'] / 1e6, 3),
        flops=flops,
        flops_g=round(flops / 1e9, 3),
        input_shape=[1, in_channels, height, width])
    return result


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    print(json.dumps(model_complexity(cfg, args.shape)))


if __name__ == '__main__':
    main()
