# Copyright (c) mmista contributors. All rights reserved.
from .darts_cls_head import AuxiliaryHead, DartsClsHead

__all__ = ['AuxiliaryHead', 'DartsClsHead']
