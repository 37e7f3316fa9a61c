# Copyright (c) mmista contributors. All rights reserved.
"""Export a one-stage search model as a plain mmpretrain classifier."""
import os.path as osp
from typing import Dict, Optional

import torch.nn as nn
from mmengine.config import Config
from mmengine.utils import mkdir_or_exist

from mmista.fileio import atomic_torch_save, atomic_write_text
from mmista.finite import check_finite
from mmista.models import absorb_supernet
from mmista.models.genotype_record import GENOTYPE_META
from mmista.structures import train_dataset_type
from mmista.visualization import draw_genotype
from .export_config import exported_config

#: What an export folder holds (and the drawings of both cells).
EXPORT_FILES = ('genotype.json', 'config.py', 'model.pth')


def export_search_model(model: nn.Module,
                        run_cfg: Config,
                        out_dir: str,
                        meta: Optional[dict] = None) -> Dict[str, str]:
    """Absorbs a one-stage search model and writes it for mmpretrain.

    Writes ``genotype.json`` with its cell drawings
    (``genotype_normal.png``, ``genotype_reduce.png``), ``config.py`` (an
    mmpretrain ``ImageClassifier`` whose backbone is the derived network,
    with only what a classifier run needs: :func:`exported_config`)
    and ``model.pth`` (``state_dict`` of plain tensors, loadable with
    torch's weights-only loading) into ``out_dir``. Each file is written
    aside and moved into place, so an interrupted export leaves every file
    whole (the previous export's or the new one).

    Args:
        model (nn.Module): A :class:`SearchClassifier` whose backbone is a
            one-stage :class:`ISTASuperNet`.
        run_cfg (Config): The config of the run.
        out_dir (str): The export folder (created if needed).
        meta (dict, optional): Plain values stored under ``meta``, with
            the genotype (``meta['genotype']``, checked when the weights
            are loaded: see :mod:`mmista.models.genotype_record`).

    Returns:
        dict[str, str]: Path of each written file, by file name.

    Raises:
        NonFiniteError: The absorbed weights hold NaN or infinity (named);
            nothing is written.
    """
    backbone_cfg, backbone_state = absorb_supernet(model.backbone)
    state = {f'backbone.{k}': v for k, v in backbone_state.items()}
    state.update({
        k: v.detach().clone()
        for k, v in model.state_dict().items() if not k.startswith('backbone.')
    })
    check_finite(state, 'the absorbed network (nothing exported)')
    mkdir_or_exist(out_dir)
    paths = {name: osp.join(out_dir, name) for name in EXPORT_FILES}
    genotype = model.backbone.genotype()
    meta = dict(meta or {}, **{GENOTYPE_META: genotype.to_dict()})
    genotype.to_json(
        paths['genotype.json'],
        search_space=model.backbone.search_space_variant(
            dataset=train_dataset_type(run_cfg)))
    paths.update({
        f'genotype_{cell}.png': path
        for cell, path in draw_genotype(
            genotype, osp.join(out_dir, 'genotype')).items()
    })
    # Config.dump would open config.py in place; its text, written aside
    atomic_write_text(paths['config.py'],
                      exported_config(run_cfg, backbone_cfg).pretty_text)
    atomic_torch_save(
        dict(state_dict=state, meta=dict(meta or {}, mmista_export=True)),
        paths['model.pth'])
    return paths
