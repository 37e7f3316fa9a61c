# Copyright (c) mmista contributors. All rights reserved.
"""Deployable forms of a derived network: ONNX and a ``torch.export``
program, checked against PyTorch on real images.

See docs/en/user_guides/export.md.
"""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_state_dict
from mmengine.utils import mkdir_or_exist

from mmista.fileio.checkpoint_loading import load_checkpoint_safely
from mmista.finite import check_finite
from mmista.models.genotype_record import check_recorded_genotype
from mmista.registry import DATASETS, MODELS, TRANSFORMS

#: Batch sizes the converted models accept.
MAX_BATCH = 1024


class DeployableClassifier(nn.Module):
    """A classifier with its input normalisation, returning class logits.

    Takes images as the config's test pipeline produces them, before the
    data preprocessor: float ``(N, C, H, W)`` in 0-255, in the channel
    order they were decoded in (OpenCV's BGR for colour files). The
    preprocessor's channel flip and normalisation happen inside, so the
    converted model needs nothing but the resized image.

    Args:
        model (nn.Module): An mmpretrain ``ImageClassifier`` in eval mode.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        preprocessor = model.data_preprocessor
        self.to_rgb = bool(getattr(preprocessor, 'to_rgb', False))
        if getattr(preprocessor, '_enable_normalize', False):
            mean, std = preprocessor.mean, preprocessor.std
        else:
            mean, std = torch.zeros(1, 1, 1), torch.ones(1, 1, 1)
        self.register_buffer('mean', mean.detach().clone().unsqueeze(0))
        self.register_buffer('std', std.detach().clone().unsqueeze(0))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` of a batch of images."""
        if self.to_rgb and images.shape[1] == 3:
            images = images.flip(1)
        return self.model((images - self.mean) / self.std, mode='tensor')


def build_classifier(config: str) -> nn.Module:
    """Builds the classifier of a config, with its data preprocessor.

    Args:
        config (str): An export's ``config.py`` or any config whose model
            is an ``ImageClassifier`` (e.g. with a ``DerivedNet``).

    Returns:
        nn.Module: The classifier (initial weights).
    """
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmista'))
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model_cfg)


def load_classifier(config: str, checkpoint: str) -> nn.Module:
    """Builds a derived network's classifier and loads its weights.

    The checkpoint is read weights-only and must have been saved from the
    config's genotype if it records one (see
    :func:`mmista.models.genotype_record.check_recorded_genotype`).

    Args:
        config (str): An export's ``config.py`` or any config whose model
            is an ``ImageClassifier`` (e.g. with a ``DerivedNet``).
        checkpoint (str): Its weights (an export's ``model.pth``).

    Returns:
        nn.Module: The classifier, in eval mode on the CPU.

    Raises:
        CheckpointError: The checkpoint cannot be read safely or was saved
            from another genotype.
        RuntimeError: Its weights do not fit the model (names or shapes).
        NonFiniteError: Some weights are NaN or infinite (named).
    """
    model = build_classifier(config)
    loaded = load_checkpoint_safely(checkpoint, map_location='cpu')
    check_recorded_genotype(model, loaded, checkpoint)
    load_state_dict(
        model, loaded.get('state_dict', loaded), strict=True, logger='silent')
    check_finite(model.state_dict(), f'the weights of {checkpoint}')
    return model.eval()


def real_images(config: str,
                count: int = 4,
                images: Optional[Sequence[str]] = None) -> torch.Tensor:
    """A float batch of real images through the config's test pipeline.

    Args:
        config (str): The config (its ``test_dataloader``).
        count (int): How many images of the test set. Defaults to 4.
        images (Sequence[str], optional): Image files to use instead.

    Returns:
        torch.Tensor: ``(N, C, H, W)`` float images.

    Raises:
        ValueError: If the images differ in size after the pipeline.
    """
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmista'))
    dataset_cfg = cfg.test_dataloader.dataset
    if images:
        pipeline = [TRANSFORMS.build(t) for t in dataset_cfg.pipeline]
        samples = []
        for path in images:
            sample = dict(img_path=path)
            for transform in pipeline:
                sample = transform(sample)
            samples.append(sample['inputs'])
    else:
        dataset = DATASETS.build(dataset_cfg)
        samples = [
            dataset[i]['inputs'] for i in range(min(count, len(dataset)))
        ]
    shapes = {tuple(s.shape) for s in samples}
    if len(shapes) != 1:
        raise ValueError(f'the test pipeline gives images of sizes '
                         f'{sorted(shapes)}; give images it resizes alike')
    return torch.stack(samples).float()


def convert(module: DeployableClassifier, example: torch.Tensor, out_dir: str,
            formats: Sequence[str]) -> Dict[str, str]:
    """Writes the module as ONNX and/or a ``torch.export`` program, with a
    dynamic batch size.

    Args:
        module (DeployableClassifier): The network.
        example (torch.Tensor): A batch of at least 2 images (a batch of 1
            would fix the batch size).
        out_dir (str): Folder for ``model.onnx`` and ``model.pt2``.
        formats (Sequence[str]): ``'onnx'`` and/or ``'torch_export'``.

    Returns:
        dict[str, str]: Path per format.

    Raises:
        NonFiniteError: The network's logits on ``example`` are not finite
            (nothing is written).
    """
    if example.shape[0] < 2:
        raise ValueError('the example batch needs at least 2 images, so '
                         'that the batch size stays dynamic')
    with torch.no_grad():
        check_finite(
            dict(pytorch=module(example)),
            f'the logits of the network on {int(example.shape[0])} check '
            'images (nothing converted)')
    batch = torch.export.Dim('batch', min=1, max=MAX_BATCH)
    mkdir_or_exist(out_dir)
    paths = {}
    with torch.no_grad():
        if 'torch_export' in formats:
            program = torch.export.export(
                module, (example, ), dynamic_shapes=({
                    0: batch
                }, ))
            paths['torch_export'] = osp.join(out_dir, 'model.pt2')
            torch.export.save(program, paths['torch_export'])
        if 'onnx' in formats:
            paths['onnx'] = osp.join(out_dir, 'model.onnx')
            write_onnx(module, example, paths['onnx'])
    return paths


def write_onnx(module: nn.Module,
               example: torch.Tensor,
               path: str,
               input_name: str = 'images',
               output_name: str = 'logits',
               dynamic_batch: bool = True) -> None:
    """Writes ``module`` as ONNX (opset 17) for ``example``'s image size.

    The TorchScript-based exporter: ONNX Runtime ran its graph of a
    derived network about 25% faster than the dynamo exporter's
    (docs/en/user_guides/latency_budget.md), and it is the graph the
    latency tables time. A dynamic batch size costs nothing there.

    Args:
        module (nn.Module): The network, in eval mode.
        example (torch.Tensor): An input batch.
        path (str): The ``.onnx`` file to write.
        input_name (str): The input's name. Defaults to ``'images'``.
        output_name (str): The output's name. Defaults to ``'logits'``.
        dynamic_batch (bool): Whether the batch size stays free. Defaults
            to True.
    """
    axes = {input_name: {0: 'batch'}, output_name: {0: 'batch'}}
    # The exporter traces in eval mode and then sets the top module's mode
    # on every submodule; each gets its own back.
    modes = [(m, m.training) for m in module.modules()]
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # this exporter is deprecated in favour of dynamo
            warnings.simplefilter('ignore')
            torch.onnx.export(
                module, (example, ),
                path,
                input_names=[input_name],
                output_names=[output_name],
                opset_version=17,
                dynamic_axes=axes if dynamic_batch else None,
                dynamo=False)
    finally:
        for submodule, training in modes:
            submodule.training = training


def compare(module: DeployableClassifier, paths: Dict[str, str],
            images: torch.Tensor) -> List[dict]:
    """Runs each converted model on ``images`` (the whole batch and its
    first image alone) and compares it with PyTorch.

    Returns:
        list[dict]: Per format and batch size: ``format``, ``batch``,
        ``max_abs_diff`` and ``max_rel_diff`` (over the largest logit).

    Raises:
        NonFiniteError: PyTorch's or a converted model's logits are not
            finite (a difference of NaN would pass any tolerance).
    """
    results = []
    for batch in (images, images[:1]):
        with torch.no_grad():
            reference = module(batch)
        scale = float(reference.abs().max())
        outputs = {}
        if 'torch_export' in paths:
            program = torch.export.load(paths['torch_export'])
            with torch.no_grad():
                outputs['torch_export'] = program.module()(batch)
        if 'onnx' in paths:
            import onnxruntime
            session = onnxruntime.InferenceSession(
                paths['onnx'], providers=['CPUExecutionProvider'])
            outputs['onnx'] = torch.from_numpy(
                session.run(None, {'images': batch.numpy()})[0])
        check_finite(
            dict(pytorch=reference, **outputs),
            f'the logits of the network on {int(batch.shape[0])} check '
            'image(s)')
        for name, output in outputs.items():
            diff = float((output - reference).abs().max())
            results.append(
                dict(
                    format=name,
                    batch=int(batch.shape[0]),
                    max_abs_diff=diff,
                    max_rel_diff=diff / max(scale, 1e-12)))
    return results
