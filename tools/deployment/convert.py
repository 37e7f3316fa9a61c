# Copyright (c) mmista contributors. All rights reserved.
"""Convert a derived network to ONNX and to a ``torch.export`` program.

``python tools/deployment/convert.py EXPORT_DIR`` reads an export folder's
``config.py`` and ``model.pth`` (``--config``/``--checkpoint`` name any
``DerivedNet`` classifier instead) and writes ``model.onnx`` and
``model.pt2`` into ``--out`` (default: the export folder). Both take float
images ``(N, C, H, W)`` in 0-255 as the config's test pipeline gives them
(normalisation inside), with any batch size up to 1024, and return
logits. Each is run on real images, a batch of them and one alone, and
compared with PyTorch; the largest differences are printed and the tool
fails above ``--rtol`` (relative to the largest logit). Needs the
``deploy`` extra (``pip install -e '.[deploy]'``) for ONNX.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict

import torch
import torch.nn as nn
from mmengine.config import Config

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.analysis.latency_record import (LATENCY_FILE,
                                            deployed_against_budget)
from mmista.analysis.latency_timing import (cpu_model,
                                            time_file_beside_network,
                                            time_model_file)
from mmista.apis.deploy import (DeployableClassifier, build_classifier,
                                compare, convert, real_images)
from mmista.cli import (check_fits, exit_if_missing, read_checkpoint,
                        reported_errors)
from mmista.errors import UserError
from mmista.fileio.checkpoint_loading import is_remote
from mmista.finite import check_finite
from mmista.models.genotype_record import check_recorded_genotype

FORMATS = ('onnx', 'torch_export')
#: The runtime each format is timed with.
RUNTIMES = dict(onnx='onnxruntime', torch_export='pytorch')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'export_dir',
        nargs='?',
        help='an export folder (config.py, '
        'model.pth)')
    parser.add_argument('--config', help='a classifier config instead')
    parser.add_argument('--checkpoint', help='its weights')
    parser.add_argument(
        '--out',
        help='output folder (default: the export '
        'folder, or the checkpoint\'s)')
    parser.add_argument(
        '--formats', nargs='+', choices=FORMATS, default=list(FORMATS))
    parser.add_argument(
        '--images',
        nargs='+',
        help='image files to check on (default: '
        'the first --num-images of the config\'s test set)')
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--rtol', type=float, default=1e-4)
    parser.add_argument(
        '--time',
        action='store_true',
        help='time each written model on one --time-batch of images: '
        'ONNX with ONNX Runtime, the torch.export program with PyTorch '
        '(median and p90)')
    parser.add_argument(
        '--threads', type=int, default=1, help='intra-op threads (1)')
    parser.add_argument(
        '--time-batch', type=int, default=1, help='images per run (1)')
    parser.add_argument(
        '--warmup', type=int, default=10, help='untimed runs first (10)')
    parser.add_argument(
        '--repeats', type=int, default=50, help='timed runs (50)')
    return parser.parse_args()


def checked_classifier(config: str, checkpoint: str) -> nn.Module:
    """The config's classifier with the checkpoint's weights, in eval mode.

    Raises:
        CheckpointError: The checkpoint cannot be read safely, does not fit
            the model, or was saved from another genotype.
        NonFiniteError: Some of its weights are NaN or infinite.
    """
    model = build_classifier(config)
    loaded = read_checkpoint(checkpoint)
    state = check_fits(model, loaded, checkpoint)
    check_recorded_genotype(model, loaded, checkpoint)
    check_finite(state, f'the weights of {checkpoint}')
    model.load_state_dict(state)
    return model.eval()


def main():
    args = parse_args()
    if args.export_dir:
        config = args.config or osp.join(args.export_dir, 'config.py')
        checkpoint = args.checkpoint or osp.join(args.export_dir, 'model.pth')
    elif args.config and args.checkpoint:
        config, checkpoint = args.config, args.checkpoint
    else:
        sys.exit('error: give an export folder, or --config and '
                 '--checkpoint')
    exit_if_missing(config, 'config')
    if not is_remote(checkpoint):
        exit_if_missing(checkpoint, 'checkpoint')
    if 'onnx' in args.formats:
        try:
            import onnxruntime  # noqa: F401
            import onnxscript  # noqa: F401
        except ImportError as error:
            sys.exit(f'error: ONNX needs the deploy extra ({error.name} is '
                     "missing): pip install -e '.[deploy]', or pass "
                     '--formats torch_export')
    if is_remote(checkpoint) and not args.out:
        sys.exit(f'error: give --out: the checkpoint {checkpoint} is not '
                 'in a folder of this machine')
    out_dir = args.out or osp.dirname(osp.abspath(checkpoint))
    with reported_errors():
        convert_and_check(args, config, checkpoint, out_dir)


def convert_and_check(args: argparse.Namespace, config: str,
                      checkpoint: str, out_dir: str) -> None:
    """Loads, converts, checks against PyTorch and prints the figures."""
    module = DeployableClassifier(checked_classifier(config, checkpoint))
    try:
        images = real_images(config, max(args.num_images, 2), args.images)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: no test images to check on ({error}); pass '
                 '--images FILE...')
    if images.shape[0] < 2:
        images = images.repeat(2, 1, 1, 1)
    paths = convert(module, images, out_dir, args.formats)
    results = compare(module, paths, images)
    for result in results:
        print(f'{result["format"]}: batch {result["batch"]}, largest '
              f'|difference| {result["max_abs_diff"]:.3g} '
              f'({result["max_rel_diff"]:.3g} of the largest logit)')
    timings = time_models(args, paths, images) if args.time else {}
    if timings:
        compare_with_budget(config, args, paths, timings,
                            timing_example(args, images))
    print(json.dumps(dict(paths=paths, checks=results, timings=timings)))
    worst = max(result['max_rel_diff'] for result in results)
    if not worst <= args.rtol:
        sys.exit(f'error: a converted model differs from PyTorch by '
                 f'{worst:.3g} relative (more than --rtol {args.rtol})')


def timing_example(args: argparse.Namespace,
                   images: torch.Tensor) -> torch.Tensor:
    """The first ``--time-batch`` images (repeated if there are fewer)."""
    repeats = -(-args.time_batch // images.shape[0])
    return images.repeat(repeats, 1, 1, 1)[:args.time_batch].contiguous()


def time_models(args: argparse.Namespace, paths: Dict[str, str],
                images: torch.Tensor) -> Dict[str, dict]:
    """Times every written model on the first ``--time-batch`` images
    (repeated if there are fewer) and prints median and p90."""
    if args.threads < 1 or args.time_batch < 1:
        raise UserError('--threads and --time-batch must be >= 1')
    example = timing_example(args, images)
    timings = {}
    for name, path in paths.items():
        timing = time_model_file(path, example, 'cpu', args.threads,
                                 args.warmup, args.repeats)
        print(f'{name} ({RUNTIMES[name]}, cpu {cpu_model()}, {args.threads} '
              f'thread(s), batch {args.time_batch}): median '
              f'{timing["median_ms"]:.3f} ms, p90 {timing["p90_ms"]:.3f} ms '
              f'over {timing["count"]} runs')
        timings[name] = timing
    return timings


def compare_with_budget(config: str, args: argparse.Namespace,
                        paths: Dict[str, str], timings: Dict[str, dict],
                        example: torch.Tensor) -> None:
    """Compares each timed model with the latency budget of the search
    that exported it (``latency.json`` beside the config), where it was
    timed as the budget's latency table times.

    Each such file is timed again in turn with its network as the table
    times it, which tells a slower file format apart from a slower
    machine. Prints a line each (``warning:`` over the budget) and adds
    ``budget`` and ``beside_network`` to its timing.
    """
    path = osp.join(osp.dirname(osp.abspath(config)), LATENCY_FILE)
    if not osp.isfile(path):
        return
    try:
        with open(path, encoding='utf-8') as file:
            record = json.load(file)
        checks = {
            name: deployed_against_budget(record, RUNTIMES[name],
                                          args.threads, args.time_batch,
                                          timing['median_ms'])
            for name, timing in timings.items()
        }
    except (ValueError, KeyError, TypeError) as error:
        print(f'warning: {path} cannot be read ({error}); the timings are '
              'not compared with the search\'s latency budget')
        return
    model_cfg = Config.fromfile(config).model
    for name, check in checks.items():
        if check is None:
            continue
        line = check.pop('line')
        prefix = '' if check['within_budget'] else 'warning: '
        print(f'{prefix}{name}: {line}')
        pair = time_file_beside_network(paths[name], model_cfg, example,
                                        'cpu', args.threads, args.warmup,
                                        args.repeats)
        file_ms, network_ms = (pair[k]['median_ms']
                               for k in ('file', 'network'))
        print(f'{name}: timed in turn with the network as the latency '
              f'table times it: this file {file_ms:.3f} ms, the network '
              f'{network_ms:.3f} ms (median; file over network '
              f'{file_ms / network_ms:.2f})')
        timings[name].update(budget=check, beside_network=pair)


if __name__ == '__main__':
    main()
