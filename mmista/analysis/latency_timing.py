# Copyright (c) mmista contributors. All rights reserved.
"""Timing a module on this machine with PyTorch (eager) or ONNX Runtime.

See docs/en/user_guides/latency_budget.md.

Both runtimes share one interface: :func:`build_timer` prepares a module
and an example input and returns a callable that runs it once and returns
the milliseconds it took; :func:`time_module` warms it up and collects
:class:`~mmista.architecture.Timing` statistics. PyTorch runs in eval mode
under :func:`torch.inference_mode` with ``threads`` intra-op threads; ONNX
Runtime runs the module exported to ONNX in a temporary folder, in one
sequential session with ``threads`` intra-op threads and every graph
optimisation. On CUDA PyTorch is timed with CUDA events, ONNX Runtime with
the CUDA execution provider (its run returns after the device finished).
"""
import os.path as osp
import platform
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmista.apis.deploy import write_onnx
from mmista.architecture import DeviceRecord, Timing
from mmista.architecture.latency_table import DEVICES, RUNTIMES
from mmista.errors import UserError
from .complexity import build_counted_model, input_shape

#: A prepared module: each call runs it once and returns milliseconds.
Timer = Callable[[], float]


def check_runtime(runtime: str, device: str, threads: int,
                  batch: int) -> None:
    """Checks that ``runtime`` can time on ``device`` here.

    Raises:
        UserError: An unknown runtime or device, a thread count or batch
            below 1, onnxruntime not installed, CUDA asked for but not
            available (to PyTorch, or to onnxruntime).
    """
    if runtime not in RUNTIMES:
        raise UserError(f'unknown runtime {runtime!r}; choose one of '
                        f'{", ".join(RUNTIMES)}')
    if device not in DEVICES:
        raise UserError(f'unknown device {device!r}; choose one of '
                        f'{", ".join(DEVICES)}')
    if threads < 1 or batch < 1:
        raise UserError(f'threads and batch must be >= 1, got threads '
                        f'{threads} and batch {batch}')
    if device == 'cuda' and not torch.cuda.is_available():
        raise UserError('--device cuda: PyTorch sees no CUDA device on this '
                        'machine; time on cpu or run where a GPU is')
    if runtime == 'onnxruntime':
        ort = _onnxruntime()
        if (device == 'cuda' and 'CUDAExecutionProvider'
                not in ort.get_available_providers()):
            raise UserError(
                'onnxruntime here has no CUDAExecutionProvider (providers: '
                f'{", ".join(ort.get_available_providers())}); install '
                'onnxruntime-gpu or time with --runtime pytorch')


def _onnxruntime():
    """The onnxruntime module, or a :class:`UserError` saying how to get
    it."""
    try:
        import onnxruntime
    except ImportError:
        raise UserError("timing with onnxruntime needs the deploy extras: "
                        "pip install -e '.[deploy]'") from None
    return onnxruntime


def this_device(runtime: str, device: str, threads: int,
                batch: int) -> DeviceRecord:
    """This machine as a table records it.

    Args:
        runtime (str): ``'pytorch'`` or ``'onnxruntime'``.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads.
        batch (int): Images per forward.

    Returns:
        DeviceRecord: The runtime, device, processor (CPU model or GPU
        name), threads, batch and library versions.

    Raises:
        UserError: See :func:`check_runtime`.
    """
    check_runtime(runtime, device, threads, batch)
    versions = dict(
        torch=str(torch.__version__), python=platform.python_version())
    if runtime == 'onnxruntime':
        versions['onnxruntime'] = _onnxruntime().__version__
    if device == 'cuda':
        processor = torch.cuda.get_device_name()
    else:
        processor = cpu_model()
    return DeviceRecord(runtime, device, processor, int(threads), int(batch),
                        versions)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else the platform's)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as file:
            for line in file:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown cpu'


class IntraOpThreads:
    """Sets PyTorch's intra-op threads for a while (restored after)."""

    def __init__(self, threads: int):
        self.threads = threads

    def __enter__(self):
        self.saved = torch.get_num_threads()
        torch.set_num_threads(self.threads)

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)


def _pytorch_timer(module: nn.Module,
                   example: torch.Tensor,
                   device: str,
                   eval_mode: bool = True) -> Timer:
    """Times eager runs of ``module`` (moved to ``device``, put in eval
    mode unless ``eval_mode`` is False: a ``torch.export`` program's module
    is in its mode already and refuses ``eval()``)."""
    module = module.to(device)
    if eval_mode:
        module = module.eval()
    example = example.to(device)
    if device == 'cuda':
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)

        def run() -> float:
            with torch.inference_mode():
                start.record()
                module(example)
                end.record()
            end.synchronize()
            return float(start.elapsed_time(end))

        return run

    def run() -> float:
        with torch.inference_mode():
            begin = time.perf_counter()
            module(example)
            return (time.perf_counter() - begin) * 1e3

    return run


def export_onnx(module: nn.Module, example: torch.Tensor, path: str) -> None:
    """Writes ``module`` as ONNX for ``example``'s fixed shape, with the
    exporter ``tools/deployment/convert.py`` writes ``model.onnx`` with
    (:func:`~mmista.apis.deploy.write_onnx`): for small modules it takes
    tens of milliseconds where the dynamo exporter takes seconds."""
    write_onnx(module, example, path, 'x', 'y', dynamic_batch=False)


def _onnxruntime_timer(module: nn.Module, example: torch.Tensor, device: str,
                       threads: int) -> Timer:
    """Times ONNX Runtime runs of ``module`` exported to ONNX."""
    module = module.cpu().eval()
    with tempfile.TemporaryDirectory(prefix='mmista_latency_') as folder:
        path = osp.join(folder, 'module.onnx')
        export_onnx(module, example.cpu(), path)
        return onnx_file_timer(path, example, device, threads)


def onnx_file_timer(path: str, example: torch.Tensor, device: str,
                    threads: int) -> Timer:
    """Times ONNX Runtime runs of an ONNX file.

    Args:
        path (str): The ``.onnx`` file (read when the session is made).
        example (torch.Tensor): Its input.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads (one inter-op thread, sequential
            execution, every graph optimisation).

    Returns:
        Callable[[], float]: Runs the model once, returns milliseconds.
    """
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options.log_severity_level = 3
    providers = (['CUDAExecutionProvider']
                 if device == 'cuda' else ['CPUExecutionProvider'])
    session = ort.InferenceSession(
        path, sess_options=options, providers=providers)
    name = session.get_inputs()[0].name
    feed = {name: example.detach().cpu().numpy()}

    def run() -> float:
        begin = time.perf_counter()
        session.run(None, feed)
        return (time.perf_counter() - begin) * 1e3

    return run


def build_timer(module: nn.Module, example: torch.Tensor, runtime: str,
                device: str, threads: int) -> Timer:
    """Prepares ``module`` for timing on ``example``.

    Args:
        module (nn.Module): What to time (put in eval mode).
        example (torch.Tensor): Its input, at the shape to time.
        runtime (str): ``'pytorch'`` or ``'onnxruntime'``.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads (PyTorch's are set by
            :func:`time_module` while timing).

    Returns:
        Callable[[], float]: Runs the module once, returns milliseconds.

    Raises:
        UserError: See :func:`check_runtime`.
    """
    check_runtime(runtime, device, threads, int(example.shape[0]))
    if runtime == 'pytorch':
        return _pytorch_timer(module, example, device)
    return _onnxruntime_timer(module, example, device, threads)


def timer_samples(timer: Timer, warmup: int, repeats: int) -> List[float]:
    """``warmup`` untimed runs, then the milliseconds of ``repeats`` runs.

    Raises:
        UserError: ``warmup`` below 0 or ``repeats`` below 1.
    """
    if warmup < 0 or repeats < 1:
        raise UserError(f'warmup must be >= 0 and repeats >= 1, got '
                        f'{warmup} and {repeats}')
    for _ in range(warmup):
        timer()
    return [timer() for _ in range(repeats)]


#: Rounds of :func:`interleaved_timings`: each timer's runs are split into
#: this many chunks, taken in turn with the other timers'.
ROUNDS = 5


def interleaved_timings(timers: Sequence[Timer],
                        warmup: int,
                        repeats: int,
                        rounds: int = ROUNDS) -> List[Timing]:
    """Times several things in turn, so that the machine's drift (other
    work, clock changes) falls on all of them alike.

    Every timer is warmed up ``warmup`` times; then, in each of ``rounds``
    rounds (the order rotated by one every round), every timer runs once
    untimed (its caches warm again after the others ran) and then a chunk
    of its ``repeats`` timed runs.

    Args:
        timers (Sequence[Timer]): What to time.
        warmup (int): Untimed runs of each first.
        repeats (int): Timed runs of each (at least ``rounds`` are spread
            over the rounds; fewer are taken in as many rounds).
        rounds (int): Rounds. Defaults to :data:`ROUNDS`.

    Returns:
        list[Timing]: Per timer, the statistics of its ``repeats`` runs.

    Raises:
        UserError: ``warmup`` below 0 or ``repeats`` below 1.
    """
    if warmup < 0 or repeats < 1:
        raise UserError(f'warmup must be >= 0 and repeats >= 1, got '
                        f'{warmup} and {repeats}')
    rounds = max(1, min(int(rounds), repeats))
    chunks = [repeats // rounds + (r < repeats % rounds)
              for r in range(rounds)]
    samples: List[List[float]] = [[] for _ in timers]
    for timer in timers:
        for _ in range(warmup):
            timer()
    for r, chunk in enumerate(chunks):
        for k in range(len(timers)):
            i = (k + r) % len(timers)
            timers[i]()
            samples[i].extend(timers[i]() for _ in range(chunk))
    return [Timing.of(s) for s in samples]


def run_timer(timer: Timer, warmup: int, repeats: int) -> Timing:
    """``warmup`` untimed runs, then the statistics of ``repeats`` runs."""
    return Timing.of(timer_samples(timer, warmup, repeats))


def time_model_file(path: str, example: torch.Tensor, device: str,
                    threads: int, warmup: int,
                    repeats: int) -> Dict[str, float]:
    """Times a written model: ``model.onnx`` with ONNX Runtime, a
    ``torch.export`` program (``model.pt2``) with PyTorch.

    Args:
        path (str): The model file (``.onnx`` or ``.pt2``).
        example (torch.Tensor): Its input.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads.
        warmup (int): Untimed runs first.
        repeats (int): Timed runs.

    Returns:
        dict: ``median_ms``, ``p90_ms``, ``mean_ms``, ``std_ms`` and
        ``count``.

    Raises:
        UserError: See :func:`check_runtime`; a file that is neither.
    """
    with IntraOpThreads(threads):
        timer = model_file_timer(path, example, device, threads)
        samples = timer_samples(timer, warmup, repeats)
    return timing_summary(samples)


def model_file_runtime(path: str) -> str:
    """The runtime a written model is timed with: ONNX Runtime for
    ``.onnx``, PyTorch for a ``torch.export`` program (``.pt2``).

    Raises:
        UserError: A file that is neither.
    """
    if path.endswith('.onnx'):
        return 'onnxruntime'
    if path.endswith('.pt2'):
        return 'pytorch'
    raise UserError(f'{path}: only .onnx and .pt2 models can be timed')


def model_file_timer(path: str, example: torch.Tensor, device: str,
                     threads: int) -> Timer:
    """Prepares a written model (:func:`model_file_runtime`) for timing on
    ``example``; call it under :class:`IntraOpThreads`.

    Raises:
        UserError: See :func:`check_runtime`; a file that is neither.
    """
    runtime = model_file_runtime(path)
    check_runtime(runtime, device, threads, int(example.shape[0]))
    if runtime == 'onnxruntime':
        return onnx_file_timer(path, example, device, threads)
    module = torch.export.load(path).module()
    return _pytorch_timer(module, example, device, eval_mode=False)


def time_file_beside_network(path: str, model_cfg: dict,
                             example: torch.Tensor, device: str,
                             threads: int, warmup: int,
                             repeats: int) -> Dict[str, Dict[str, float]]:
    """Times a written model in turn with its network as a latency table
    times it (the classifier's logits, a fixed-shape graph, same runtime,
    threads and input size; :func:`interleaved_timings`), so the two
    compare under the same conditions.

    Args:
        path (str): The model file (``.onnx`` or ``.pt2``).
        model_cfg (dict): The classifier config the file was written from.
        example (torch.Tensor): The file's input; the network gets zeros
            of its shape.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads.
        warmup (int): Untimed runs of each first.
        repeats (int): Timed runs of each.

    Returns:
        dict: ``file`` and ``network``, each ``median_ms``, ``mean_ms``,
        ``std_ms`` and ``count``.

    Raises:
        UserError: See :func:`model_file_timer`.
    """
    runtime = model_file_runtime(path)
    with IntraOpThreads(threads):
        timers = [
            model_file_timer(path, example, device, threads),
            build_timer(Logits(build_counted_model(model_cfg)),
                        torch.zeros_like(example), runtime, device, threads)
        ]
        timings = interleaved_timings(timers, warmup, repeats)
    return {
        name: dict(
            median_ms=t.median_ms,
            mean_ms=t.mean_ms,
            std_ms=t.std_ms,
            count=t.count)
        for name, t in zip(('file', 'network'), timings)
    }


def timing_summary(samples_ms: Sequence[float]) -> Dict[str, float]:
    """``median_ms``, ``p90_ms``, ``mean_ms``, ``std_ms`` and ``count`` of
    timings (at least one, all finite)."""
    timing = Timing.of(samples_ms)
    return dict(
        median_ms=timing.median_ms,
        p90_ms=float(np.percentile(samples_ms, 90)),
        mean_ms=timing.mean_ms,
        std_ms=timing.std_ms,
        count=timing.count)


def time_module(module: nn.Module,
                example: torch.Tensor,
                runtime: str,
                device: str,
                threads: int,
                warmup: int,
                repeats: int) -> Timing:
    """Times ``module`` on ``example``.

    Args:
        module (nn.Module): What to time.
        example (torch.Tensor): Its input.
        runtime (str): ``'pytorch'`` or ``'onnxruntime'``.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads.
        warmup (int): Untimed runs first.
        repeats (int): Timed runs.

    Returns:
        Timing: Milliseconds per run.

    Raises:
        UserError: See :func:`check_runtime`; warmup below 0 or repeats
            below 1.
    """
    with IntraOpThreads(threads):
        timer = build_timer(module, example, runtime, device, threads)
        return run_timer(timer, warmup, repeats)


class Logits(nn.Module):
    """A classifier's logits, ``forward(x, mode='tensor')``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, mode='tensor')


class Nothing(nn.Module):
    """The smallest module a runtime runs: the runtime's own overhead."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0


def network_input(model_cfg: dict, batch: int,
                  shape: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Zeros of ``(batch, C, H, W)`` for the classifier of ``model_cfg``
    (the size of :func:`~mmista.analysis.input_shape`)."""
    return torch.zeros((int(batch), *input_shape(model_cfg, shape)[1:]))


def measure_network_latency(model_cfg: dict,
                            runtime: str,
                            device: str,
                            threads: int,
                            batch: int,
                            warmup: int,
                            repeats: int,
                            shape: Optional[Sequence[int]] = None
                            ) -> Timing:
    """Times a whole classifier's logits (eval mode, no auxiliary head).

    Args:
        model_cfg (dict): The classifier config.
        runtime (str): ``'pytorch'`` or ``'onnxruntime'``.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int): Intra-op threads.
        batch (int): Images per forward.
        warmup (int): Untimed runs first.
        repeats (int): Timed runs.
        shape (Sequence[int], optional): Input height [and width].
            Defaults to the stem's usual size.

    Returns:
        Timing: Milliseconds per forward.

    Raises:
        UserError: See :func:`time_module`.
    """
    return Timing.of(
        _network_samples(model_cfg, runtime, device, threads, batch, warmup,
                         repeats, shape))


def measure_networks(model_cfgs: Sequence[dict],
                     runtime: str,
                     device: str,
                     threads: int,
                     batch: int,
                     warmup: int,
                     repeats: int,
                     shape: Optional[Sequence[int]] = None,
                     rounds: int = ROUNDS) -> List[Timing]:
    """Times whole classifiers in turn (:func:`interleaved_timings`), so
    that they are compared under the same conditions.

    Args:
        model_cfgs (Sequence[dict]): The classifier configs (one input
            size).
        runtime, device, threads, batch, warmup, repeats, shape: As
            :func:`measure_network_latency`.
        rounds (int): Rounds of the interleaving.

    Returns:
        list[Timing]: Milliseconds per forward, per network.

    Raises:
        UserError: See :func:`time_module`.
    """
    check_runtime(runtime, device, threads, batch)
    if not model_cfgs:
        return []
    example = network_input(model_cfgs[0], batch, shape)
    with IntraOpThreads(threads):
        timers = [
            build_timer(Logits(build_counted_model(cfg)), example, runtime,
                        device, threads) for cfg in model_cfgs
        ]
        return interleaved_timings(timers, warmup, repeats, rounds)


def measure_network_summary(model_cfg: dict,
                            runtime: str,
                            device: str,
                            threads: int,
                            batch: int,
                            warmup: int,
                            repeats: int,
                            shape: Optional[Sequence[int]] = None
                            ) -> Dict[str, float]:
    """:func:`measure_network_latency` with the p90 too: the
    :func:`timing_summary` of the whole classifier's timings.

    Raises:
        UserError: See :func:`time_module`.
    """
    return timing_summary(
        _network_samples(model_cfg, runtime, device, threads, batch, warmup,
                         repeats, shape))


def _network_samples(model_cfg: dict, runtime: str, device: str,
                     threads: int, batch: int, warmup: int, repeats: int,
                     shape: Optional[Sequence[int]]) -> List[float]:
    """The milliseconds of ``repeats`` forwards of a whole classifier's
    logits, after ``warmup`` untimed ones."""
    check_runtime(runtime, device, threads, batch)
    model = Logits(build_counted_model(model_cfg))
    example = network_input(model_cfg, batch, shape)
    with IntraOpThreads(threads):
        timer = build_timer(model, example, runtime, device, threads)
        return timer_samples(timer, warmup, repeats)


def runtime_overhead(runtime: str, device: str, threads: int,
                     example: torch.Tensor, warmup: int,
                     repeats: int) -> Timing:
    """The time of running :class:`Nothing` on ``example``: what every
    separately timed module pays once and a module inside a network does
    not."""
    return time_module(Nothing(), example, runtime, device, threads, warmup,
                       repeats)


__all__ = [
    'Timer', 'check_runtime', 'this_device', 'cpu_model', 'build_timer',
    'run_timer', 'interleaved_timings', 'time_module',
    'measure_network_latency', 'measure_networks',
    'measure_network_summary', 'timing_summary', 'network_input',
    'runtime_overhead', 'export_onnx', 'Logits', 'Nothing'
]
