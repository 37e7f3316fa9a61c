# Copyright (c) mmista contributors. All rights reserved.
"""The config of an exported model: what a plain mmpretrain classifier run
of the derived network needs, copied from the search run by allow-lists."""
import copy
import logging
from typing import List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import Registry

from mmista.registry import MODELS

#: Keys of the search run's config copied as they are: its data (the
#: pipelines a fine-tune config reuses as ``{{_base_.train_pipeline}}``,
#: the validation and test loaders and evaluators) and its runtime.
EXPORT_DATA_KEYS = ('data_preprocessor', 'dataset_type', 'data_root',
                    'train_pipeline', 'test_pipeline')
EXPORT_RUNTIME_KEYS = ('default_scope', 'env_cfg', 'log_level',
                       'log_processor', 'visualizer', 'vis_backends',
                       'randomness', 'sync_bn')

#: Keys of the search model's config that the classifier keeps besides its
#: backbone and head (batch augments live in the model's ``train_cfg``).
EXPORT_MODEL_KEYS = ('neck', 'data_preprocessor', 'train_cfg')

#: Hooks of a classifier run of a derived network: mmengine's and
#: mmpretrain's default hooks, the runtime hooks of every mmista config
#: (``configs/_base_/default_runtime.py``) and the drop-path ramp of the
#: search's evaluation phase. Hooks of any other type (the search's stages,
#: a user's own hooks) are left out; a fine-tune config adds its own.
EXPORT_HOOK_TYPES = frozenset({
    # mmengine, mmpretrain
    'IterTimerHook',
    'LoggerHook',
    'ParamSchedulerHook',
    'CheckpointHook',
    'DistSamplerSeedHook',
    'RuntimeInfoHook',
    'VisualizationHook',
    # mmista: checkpoints written aside, plain types and the genotype in
    # them, per-epoch seeds, NaN/inf stops, one set of BatchNorm
    # statistics across ranks
    'CrashSafeCheckpointHook',
    'WeightsOnlyCheckpointHook',
    'GenotypeCheckpointHook',
    'EpochSeedHook',
    'FiniteLossHook',
    'BNStatsBroadcastHook',
    # mmista: the run's expected duration, logged before it starts
    'DurationEstimateHook',
    # mmista: the drop-path the derived network trained with
    'DropPathRampHook',
})

#: Loop types that validation and testing keep (mmengine's own).
_EVAL_LOOP_TYPES = {'val': 'ValLoop', 'test': 'TestLoop'}


def type_name(cfg: Optional[dict]) -> Optional[str]:
    """The type a config dict builds, without its scope.

    Args:
        cfg (dict, optional): A config dict (or None).

    Returns:
        str | None: ``'DerivedNet'`` for ``type='mmista.DerivedNet'``, the
        class name for a class, None for no type.
    """
    if not isinstance(cfg, dict):
        return None
    kind = cfg.get('type')
    if isinstance(kind, str):
        return kind.split('.')[-1]
    return getattr(kind, '__name__', None)


def scoped(cfg: dict, registry: Registry = MODELS) -> dict:
    """Prefixes an mmista type with its scope, so that mmpretrain's own
    scope (``mmpretrain.get_model``) finds it.

    Args:
        cfg (dict): A config dict.
        registry (Registry): The mmista registry its type is looked up in.

    Returns:
        dict: A copy, ``type='mmista.Name'`` if mmista registers ``Name``.
    """
    cfg = copy.deepcopy(dict(cfg))
    kind = cfg.get('type')
    if isinstance(kind, str) and '.' not in kind and \
            kind in registry.module_dict:
        cfg['type'] = f'mmista.{kind}'
    return cfg


def _exported_hooks(run_cfg: dict) -> Tuple[dict, list, List[str]]:
    """The run's default hooks and custom hooks of
    :data:`EXPORT_HOOK_TYPES`, with the drop-path stage of a one-stage
    search as a custom hook, and the names of the hooks left out."""
    default_hooks, left_out = {}, []
    for key, hook in (run_cfg.get('default_hooks') or {}).items():
        # None disables one of mmengine's default hooks: kept
        if hook is None or type_name(hook) in EXPORT_HOOK_TYPES:
            default_hooks[key] = hook
        else:
            left_out.append(f'default_hooks.{key} ({type_name(hook)})')
    custom_hooks = []
    for hook in run_cfg.get('custom_hooks') or []:
        if type_name(hook) in EXPORT_HOOK_TYPES:
            custom_hooks.append(hook)
        else:
            left_out.append(f'custom_hooks {type_name(hook)}')
    stages = (run_cfg.get('train_cfg') or {}).get('stages') or {}
    for stage in stages.values():
        if type_name(stage) in EXPORT_HOOK_TYPES and not any(
                type_name(hook) == type_name(stage) for hook in custom_hooks):
            custom_hooks.append(stage)
    return default_hooks, custom_hooks, left_out


def _eval_split(run_cfg: dict, split: str) -> dict:
    """The run's ``{split}_dataloader``, ``{split}_evaluator`` and
    ``{split}_cfg`` (mmengine's plain loop), or nothing if the run has no
    such loader (mmengine needs all three or none)."""
    if run_cfg.get(f'{split}_dataloader') is None:
        return {}
    loop = dict(run_cfg.get(f'{split}_cfg') or {})
    if type_name(loop) not in (None, _EVAL_LOOP_TYPES[split]):
        loop = {}
    return {
        f'{split}_dataloader': run_cfg[f'{split}_dataloader'],
        f'{split}_evaluator': run_cfg.get(f'{split}_evaluator'),
        f'{split}_cfg': loop,
    }


def exported_config(run_cfg: Config, backbone_cfg: dict) -> Config:
    """The mmpretrain config of an exported model.

    Only what a plain classifier run of the derived network needs is
    copied, by allow-lists: nothing of the search (its loops, stages,
    optimizers, schedules, model wrapper, architecture data, search
    settings) can reach the export, whatever keys a search config adds.

    Args:
        run_cfg (Config): The search run's config (data, head, runtime).
        backbone_cfg (dict): The absorbed ``DerivedNet`` config.

    Returns:
        Config: ``ImageClassifier`` with the derived backbone (drop-path 0)
        and the run's head; the run's data preprocessor (an mmista type
        scoped as ``mmista.Name``), pipelines,
        validation and test data and evaluators (no training loader: a
        fine-tune config gives it with its optimizer and schedule); its
        runtime (:data:`EXPORT_RUNTIME_KEYS`) and hooks of
        :data:`EXPORT_HOOK_TYPES`, the drop-path ramp of the search's
        evaluation phase among ``custom_hooks``; ``custom_imports`` of
        mmista.
    """
    run = copy.deepcopy(run_cfg._cfg_dict.to_dict())
    run_model = run['model']
    head = scoped(run_model['head'])
    head.pop('cal_acc', None)
    model = dict(
        type='ImageClassifier',
        backbone=scoped(dict(backbone_cfg, drop_path_prob=0.)),
        neck=None,
        head=head)
    for key in EXPORT_MODEL_KEYS:
        if run_model.get(key) is not None:
            model[key] = scoped(run_model[key]) if isinstance(
                run_model[key], dict) else run_model[key]

    cfg = dict(model=model)
    for key in EXPORT_DATA_KEYS + EXPORT_RUNTIME_KEYS:
        if run.get(key) is not None:
            cfg[key] = run[key]
    if isinstance(cfg.get('data_preprocessor'), dict):
        # e.g. the CIFAR configs' CutoutClsDataPreprocessor, which a
        # fine-tune trains with and mmpretrain's get_model builds
        cfg['data_preprocessor'] = scoped(cfg['data_preprocessor'])
    for split in _EVAL_LOOP_TYPES:
        cfg.update(_eval_split(run, split))
    cfg['default_hooks'], custom_hooks, left_out = _exported_hooks(run)
    if custom_hooks:
        cfg['custom_hooks'] = custom_hooks
    if left_out:
        print_log(
            'The export leaves out hooks that are not those of a '
            f'classifier run: {", ".join(left_out)}; add any you need to '
            'the fine-tune config.',
            logger='current',
            level=logging.WARNING)
    cfg['custom_imports'] = dict(
        imports=['mmista'], allow_failed_imports=False)
    return Config(cfg)
