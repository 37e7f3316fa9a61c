# Copyright (c) mmista contributors. All rights reserved.
"""Where the time of a whole training run goes, measured on its runner.

:class:`RunProfile` attaches to an mmengine ``Runner`` before ``train()``
and times, with ``time.perf_counter``:

- every hook method each hook defines (``before_train_epoch`` of the
  recovery, ``after_train_iter`` of the logger, ...), per call;
- every training iteration, split into the data wait (from the end of the
  previous iteration's hooks to the start of this one's), the hooks before
  it, the step itself (the data preprocessor, forward, backward and
  optimizer steps: what ``run_iter`` does between the hooks) and the hooks
  after it, each labelled with the phase it ran in (e.g. ``search`` or
  ``evaluation`` of a one-stage run);
- every validation (from ``before_val`` to ``after_val``);
- the whole of ``train()``;
- optionally, methods of a hook that its hook methods call (``inner``:
  e.g. the recovery hook's ``save``, which writes and draws the genotype),
  to tell them apart from the rest of the hook method.

Every hook call and validation is also labelled with the phase of the
iteration before it (the first phase before any), so that the epoch
boundary after a search epoch counts to the search.

Nothing of the run changes: the hooks run in their order with their
arguments, only wrapped in a clock.
"""
import functools
import statistics
import time
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mmengine.hooks import Hook

#: Hook methods of the training loop timed per iteration.
ITER_METHODS = ('before_train_iter', 'after_train_iter')
#: The hook methods that can be timed (those mmengine's loops call).
TIMED_METHODS = tuple(Hook.stages)


def median(values: Sequence[Optional[float]]) -> Optional[float]:
    """The median of the values that are not None (None for none)."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def iteration_seconds(record: dict) -> float:
    """What one iteration record cost the run: data wait, hooks and step
    (the parts it has)."""
    return (record.get('step_s', 0.) + record.get('before_s', 0.) +
            record.get('after_s', 0.) + (record.get('data_s') or 0.))


def clocked(function: Callable, record: Callable[[float], None]) -> Callable:
    """``function``, calling ``record(seconds)`` after each call (also one
    that raises)."""

    @functools.wraps(function)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            record(time.perf_counter() - start)

    return timed


class RunProfile:
    """Clocks attached to one runner's hooks and loop.

    Args:
        runner (Runner): The runner, before ``train()``.
        phase_of (Callable[[Runner], str], optional): Names the phase of
            the iteration about to run (called before each one). Defaults
            to ``'train'`` throughout.
        inner (Sequence[tuple[str, str]]): ``(hook class name, method)``
            of further methods to time, which the hook's own hook methods
            call (their time is also in the caller's). Defaults to none.
    """

    def __init__(self,
                 runner,
                 phase_of: Optional[Callable[[object], str]] = None,
                 inner: Sequence[Tuple[str, str]] = ()):
        self.runner = runner
        self.phase_of = phase_of or (lambda _: 'train')
        #: seconds per ``(hook class name, method)``, one entry per call
        self.hook_calls: Dict[tuple, List[float]] = defaultdict(list)
        #: the phase of each entry of :attr:`hook_calls`, per key
        self.hook_phases: Dict[tuple, List[str]] = defaultdict(list)
        #: keys of :attr:`hook_calls` that are ``inner`` methods
        self.inner = set(inner)
        #: one dict per training iteration (see :meth:`iterations_of`)
        self.iterations: List[dict] = []
        #: seconds of each validation
        self.validations: List[float] = []
        #: the phase of each validation
        self.validation_phases: List[str] = []
        self.train_seconds: Optional[float] = None
        self._marks: Dict[str, float] = {}
        self._wrap_hooks()
        self._wrap_call_hook()
        self._wrap_train()

    # attaching
    def _wrap_hooks(self) -> None:
        # a loop may register hooks when it is built (one-stage search
        # stages): build it now, as train() would
        _ = self.runner.train_loop
        for hook in self.runner.hooks:
            name = type(hook).__name__
            # the stages the hook does something in (mmengine's own test,
            # which also sees ``_before_iter`` and the like)
            methods = list(hook.get_triggered_stages()) + [
                method for hook_name, method in sorted(self.inner)
                if hook_name == name and hasattr(hook, method)
            ]
            for method in methods:
                setattr(hook, method,
                        self._timed(getattr(hook, method), (name, method)))

    def _timed(self, method: Callable, key: tuple) -> Callable:
        calls = self.hook_calls[key]
        phases = self.hook_phases[key]

        def record(seconds: float) -> None:
            calls.append(seconds)
            phases.append(self._current_phase())

        return clocked(method, record)

    def _current_phase(self) -> str:
        """The phase of the latest iteration (before any: the first's)."""
        if self.iterations:
            return self.iterations[-1]['phase']
        return self.phase_of(self.runner)

    def _wrap_call_hook(self) -> None:
        runner = self.runner
        call_hook = runner.call_hook

        @functools.wraps(call_hook)
        def marked_call_hook(fn_name: str, **kwargs):
            start = time.perf_counter()
            if fn_name == 'before_train_iter':
                self._begin_iteration(start)
            elif fn_name == 'before_val':
                self._marks['val'] = start
            result = call_hook(fn_name, **kwargs)
            end = time.perf_counter()
            if fn_name == 'before_train_iter':
                self.iterations[-1]['before_s'] = end - start
                self._marks['step'] = end
            elif fn_name == 'after_train_iter':
                self._end_iteration(start, end)
            elif fn_name == 'after_val' and 'val' in self._marks:
                self.validations.append(end - self._marks.pop('val'))
                self.validation_phases.append(self._current_phase())
            elif fn_name in ('after_train_epoch', 'before_train_epoch'):
                # epoch boundaries are not data waits of an iteration
                self._marks.pop('iter_end', None)
            return result

        runner.call_hook = marked_call_hook

    def _wrap_train(self) -> None:

        def record(seconds: float) -> None:
            self.train_seconds = seconds

        self.runner.train = clocked(self.runner.train, record)

    def _begin_iteration(self, start: float) -> None:
        wait = start - self._marks['iter_end'] \
            if 'iter_end' in self._marks else None
        self.iterations.append(
            dict(
                phase=self.phase_of(self.runner),
                epoch=self.runner.epoch,
                data_s=wait))

    def _end_iteration(self, start: float, end: float) -> None:
        record = self.iterations[-1]
        record['step_s'] = start - self._marks.pop('step')
        record['after_s'] = end - start
        self._marks['iter_end'] = end

    # reading
    def iterations_of(self, phase: str) -> List[dict]:
        """The iteration records of one phase: ``phase``, ``epoch`` (the
        runner's, from 0), ``data_s`` (None for an epoch's first, whose
        wait includes the epoch boundary), ``before_s``, ``step_s``,
        ``after_s``."""
        return [it for it in self.iterations if it['phase'] == phase]

    def phases(self) -> List[str]:
        """The phases seen, in order of appearance."""
        seen = []
        for it in self.iterations:
            if it['phase'] not in seen:
                seen.append(it['phase'])
        return seen

    def phase_summary(self, phase: str) -> dict:
        """Medians (seconds) of one phase's iterations.

        Returns:
            dict: ``iters``, ``epochs`` (epochs with an iteration of the
            phase), ``step_s`` (the step alone), ``hooks_s`` (the hooks
            before and after it), ``data_s`` (the data wait) and
            ``iter_s`` (all three; what an iteration costs the run), each a
            median over the phase's iterations.
        """
        its = [it for it in self.iterations_of(phase) if 'step_s' in it]
        waits = [it['data_s'] for it in its if it['data_s'] is not None]
        hooks = [it['before_s'] + it['after_s'] for it in its]
        steps = [it['step_s'] for it in its]
        totals = [
            iteration_seconds(it) for it in its if it['data_s'] is not None
        ]
        return dict(
            iters=len(its),
            epochs=len({it['epoch'] for it in its}),
            step_s=median(steps),
            hooks_s=median(hooks),
            data_s=median(waits),
            iter_s=median(totals))

    def hook_totals(self,
                    methods: Optional[tuple] = None,
                    phase: Optional[str] = None) -> Dict[str, dict]:
        """Seconds spent in each hook method over the run.

        Args:
            methods (tuple[str], optional): Only these methods. Defaults to
                all (``inner`` ones included).
            phase (str, optional): Only the calls labelled with this phase.
                Defaults to all.

        Returns:
            dict[str, dict]: ``'Hook.method'`` to ``calls``, ``total_s`` and
            ``median_ms``, largest total first.
        """
        rows = {}
        for (name, method), calls in self.hook_calls.items():
            if phase is not None:
                calls = [
                    seconds for seconds, label in zip(
                        calls, self.hook_phases[(name, method)])
                    if label == phase
                ]
            if not calls or (methods and method not in methods):
                continue
            rows[f'{name}.{method}'] = dict(
                calls=len(calls),
                total_s=sum(calls),
                median_ms=1e3 * statistics.median(calls))
        return dict(
            sorted(rows.items(), key=lambda item: -item[1]['total_s']))

    def summary(self) -> dict:
        """Everything measured, as plain values (seconds unless named).

        Returns:
            dict: ``train_s`` (all of ``train()``), ``phases`` (per phase:
            :meth:`phase_summary` plus ``total_s``, the phase's iterations
            summed), ``validation_s`` (all validations), ``validations``,
            ``iteration_hooks`` (per-iteration hook methods),
            ``boundary_hooks`` (every other hook method: the epoch
            boundaries, checkpoints, the start and the end of training),
            ``inner`` (the ``inner`` methods, whose time is also in their
            callers'), and ``by_phase``: per phase, its ``validation_s``,
            ``validations``, ``iteration_hooks``, ``boundary_hooks`` and
            ``inner``.
        """
        phases = {}
        for phase in self.phases():
            row = self.phase_summary(phase)
            row['total_s'] = sum(
                map(iteration_seconds, self.iterations_of(phase)))
            phases[phase] = row
        boundary = tuple(m for m in TIMED_METHODS if m not in ITER_METHODS)
        inner = tuple(method for _, method in sorted(self.inner))
        by_phase = {}
        for phase in phases:
            seconds = [
                s for s, label in zip(self.validations,
                                      self.validation_phases)
                if label == phase
            ]
            by_phase[phase] = dict(
                validation_s=sum(seconds),
                validations=len(seconds),
                iteration_hooks=self.hook_totals(ITER_METHODS, phase),
                boundary_hooks=self.hook_totals(boundary, phase),
                inner=self.hook_totals(inner, phase) if inner else {})
        return dict(
            train_s=self.train_seconds,
            phases=phases,
            validation_s=sum(self.validations),
            validations=len(self.validations),
            iteration_hooks=self.hook_totals(ITER_METHODS),
            boundary_hooks=self.hook_totals(boundary),
            inner=self.hook_totals(inner) if inner else {},
            by_phase=by_phase)
