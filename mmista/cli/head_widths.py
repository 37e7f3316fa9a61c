# Copyright (c) mmista contributors. All rights reserved.
"""The classifier head's input widths, taken from the backbone a config
builds.

A head's ``in_channels`` (and the auxiliary head's ``aux_in_channels``)
must equal the channels of the feature maps the backbone returns, which
follow from ``model.backbone`` (channels, layers, stem, out_indices...). A
config states them as numbers, so changing the backbone
(``--cfg-options model.backbone.channels=16``) left a head that fails at
the first forward. :func:`fit_head_to_backbone` reads the widths from the
backbone itself (its ``out_channels``) and sets the head's to them.
"""
import logging
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmista.errors import ConfigError, UserError
from mmista.registry import MODELS

#: Heads that classify the last feature map, pooled, with a linear layer
#: of ``in_channels`` inputs (mmista's and mmpretrain's).
LAST_MAP_HEADS = ('DartsClsHead', 'LinearClsHead', 'StackedLinearClsHead',
                  'MultiLabelLinearClsHead', 'ArcFaceClsHead')
#: mmista's backbones, whose ``with_aux_feature`` returns the map the
#: DARTS auxiliary head reads.
AUX_FEATURE_BACKBONES = ('DerivedNet', 'ISTASuperNet', 'DenseSuperNet')
#: Necks that keep the channels of each map (``None``: no neck).
CHANNEL_KEEPING_NECKS = (None, 'GlobalAveragePooling')


def _type_name(component: Optional[dict]) -> Optional[str]:
    """The registered name of a component config, scope dropped
    (``'mmpretrain.LinearClsHead'`` -> ``'LinearClsHead'``); None for no
    component."""
    if component is None:
        return None
    kind = component.get('type') if isinstance(component, dict) else None
    if isinstance(kind, type):
        return kind.__name__
    return str(kind).split('.')[-1] if kind is not None else ''


@contextmanager
def _side_effect_free() -> Iterator[None]:
    """Leaves the global random state and the log as they were: the
    backbone built here is thrown away, and what its constructor logs
    (e.g. the architecture seed) is logged again when the run builds it."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        logger.setLevel(level)


def backbone_out_channels(backbone_cfg: dict) -> Optional[Tuple[int, ...]]:
    """Builds a backbone config and reads the channels of its outputs.

    Args:
        backbone_cfg (dict): ``model.backbone``.

    Returns:
        tuple[int] | None: The backbone's ``out_channels`` (channels of
        each returned feature map, in the order returned), or None if it
        has no such property (e.g. a backbone of another library).

    Raises:
        ConfigError: The backbone cannot be built from the config.
    """
    try:
        with _side_effect_free():
            backbone = MODELS.build(backbone_cfg)
    except UserError:
        raise
    except (TypeError, KeyError, ValueError) as error:
        text = error.args[0] if error.args else type(error).__name__
        raise ConfigError(f'model.backbone cannot be built: '
                          f'{str(text).splitlines()[0]}') from error
    channels = getattr(backbone, 'out_channels', None)
    if not isinstance(channels, (tuple, list)) or not channels:
        return None
    return tuple(int(width) for width in channels)


def _fit(head: dict, key: str, width: int, changes: List[str]) -> None:
    """Sets ``head[key]`` to ``width`` and notes the change, if any."""
    old = head.get(key)
    if old == width:
        return
    head[key] = width
    changes.append(f'model.head.{key} follows the backbone: '
                   f'{"(unset)" if old is None else old} -> {width}')


def fit_head_to_backbone(cfg: Config) -> List[str]:
    """Sets the classifier head's input widths to the backbone's outputs.

    For a head that classifies the backbone's last feature map
    (:data:`LAST_MAP_HEADS`: mmista's ``DartsClsHead``, mmpretrain's
    ``LinearClsHead`` ...), with no neck or a ``GlobalAveragePooling``
    one, ``model.head.in_channels`` becomes the channels of the last map
    the backbone returns and, for ``DartsClsHead`` with ``aux_weight > 0``
    and two maps or more, ``model.head.aux_in_channels`` those of the
    first. A width that differs from these can never run, so it is
    replaced, not kept. Other heads and necks, and backbones without an
    ``out_channels`` property, are left as they are. Call it once the
    config and its overrides are final, before the model is built.

    Args:
        cfg (Config): The run's config, changed in place.

    Returns:
        list[str]: One line per width changed, e.g. ``'model.head.
        in_channels follows the backbone: 576 -> 256'``.

    Raises:
        ConfigError: ``model.backbone`` cannot be built, or a
            ``DartsClsHead`` with an auxiliary loss has an mmista backbone
            without ``with_aux_feature=True`` (a config written when
            ``out_indices`` counted cells).
    """
    model = cfg.get('model')
    if not isinstance(model, dict):
        return []
    head, backbone = model.get('head'), model.get('backbone')
    head_type = _type_name(head)
    if not isinstance(backbone, dict) or head_type not in LAST_MAP_HEADS \
            or _type_name(model.get('neck')) not in CHANNEL_KEEPING_NECKS:
        return []
    if head_type == 'DartsClsHead' and (head.get('aux_weight') or 0) > 0 \
            and _type_name(backbone) in AUX_FEATURE_BACKBONES \
            and not backbone.get('with_aux_feature', False):
        raise ConfigError(
            'model.head.aux_weight > 0 reads the output of cell '
            '2*layers//3, which the backbone returns only with '
            'model.backbone.with_aux_feature=True: set it (out_indices '
            'count stages, not cells), or model.head.aux_weight=0')
    channels = backbone_out_channels(backbone)
    if channels is None:
        return []
    changes: List[str] = []
    _fit(head, 'in_channels', channels[-1], changes)
    if head_type == 'DartsClsHead' and (head.get('aux_weight') or 0) > 0 \
            and len(channels) >= 2:
        _fit(head, 'aux_in_channels', channels[0], changes)
    return changes
