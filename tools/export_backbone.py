# Copyright (c) mmista contributors. All rights reserved.
"""Export a one-stage search checkpoint as an mmpretrain model.

``python tools/export_backbone.py CONFIG CHECKPOINT --out DIR`` folds each
active op's weight into its final BatchNorm and writes ``DIR/genotype.json``,
``DIR/config.py`` (an ``ImageClassifier`` with the derived backbone) and
``DIR/model.pth``. Any checkpoint of a one-stage run works, also one taken
before the architecture was fixed (the current supports are exported).
Then::

    python tools/test.py DIR/config.py DIR/model.pth
"""
import argparse
import sys

from mmengine.registry import init_default_scope

import mmista  # noqa: F401  (registers mmista's modules)
from mmista.apis import export_search_model
from mmista.cli import (add_cfg_options, check_fits, exit_if_missing,
                        fit_head_to_backbone, load_config, read_checkpoint,
                        reported_errors)
from mmista.finite import check_finite
from mmista.registry import MODELS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Absorb and export a one-stage search checkpoint')
    parser.add_argument('config', help='the config of the search run')
    parser.add_argument('checkpoint', help='a checkpoint of that run')
    parser.add_argument('--out', required=True, help='export folder')
    add_cfg_options(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    exit_if_missing(args.checkpoint, 'checkpoint')
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmista'))
    with reported_errors():
        for change in fit_head_to_backbone(cfg):
            print(change, file=sys.stderr)
    model = MODELS.build(cfg.model)
    if not hasattr(getattr(model, 'backbone', None), 'architecture'):
        sys.exit(f'error: {args.config} does not describe a search model '
                 '(its backbone has no architecture to export)')
    with reported_errors():
        checkpoint = read_checkpoint(args.checkpoint)
        state = check_fits(model, checkpoint, args.checkpoint)
        check_finite(state, f'the weights of {args.checkpoint} (nothing '
                     'exported)')
        model.load_state_dict(state)
        model.eval()
        meta = checkpoint.get('meta', {})
        try:
            paths = export_search_model(
                model,
                cfg,
                args.out,
                meta=dict(source=args.checkpoint, epoch=meta.get('epoch')))
        except ValueError as err:
            sys.exit(f'error: {err}')
    print(f'Genotype: {model.backbone.genotype()}')
    print(f'Exported to {args.out}: ' + ', '.join(paths))
    print(f'Test it with: python tools/test.py {paths["config.py"]} '
          f'{paths["model.pth"]}')


if __name__ == '__main__':
    main()
