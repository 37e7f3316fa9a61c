# Copyright (c) mmista contributors. All rights reserved.
"""A derived network's latency on one device, split like its other costs.

See docs/en/user_guides/latency_budget.md.

A :class:`LatencyTable` predicts the latency of a derived network as a
fixed part (stem, cell pre-processing, node sums, classifier, the runtime's
own overhead) plus, for every cell type, the time of the op on each kept
edge, which depends on the op and on whether the edge leaves one of the
cell's inputs or an intermediate node: the additive structure of
:class:`~mmista.architecture.EdgeCosts`. Every entry keeps the statistics
of its timings. The table records the device it was measured on
(:class:`DeviceRecord`); a latency predicted from it is a latency on that
device, so tools that compare it with a measurement on this machine refuse
a table from another one.
"""
import json
import math
import numbers
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from mmista.errors import UserError
from mmista.fileio import atomic_write_text
from mmista.structures import CANDIDATE_OPS, CELL_TYPES, NUM_OPS

#: The file format's version, written into every table.
TABLE_VERSION = 1
#: The runtimes a table can be measured with.
RUNTIMES = ('pytorch', 'onnxruntime')
#: The devices a table can be measured on.
DEVICES = ('cpu', 'cuda')
#: ``(op, source)``: source 0 is a cell input, 1 an intermediate node.
EdgeKey = Tuple[str, int]


class LatencyTableError(UserError, ValueError):
    """A latency table that cannot be read or does not fit its use."""


@dataclass(frozen=True)
class Timing:
    """Statistics of repeated timings, in milliseconds.

    Attributes:
        median_ms (float): The median (what predictions use).
        mean_ms (float): The mean.
        std_ms (float): The standard deviation.
        count (int): How many timings.
    """

    median_ms: float
    mean_ms: float
    std_ms: float
    count: int

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> 'Timing':
        """The statistics of ``samples_ms`` (at least one, all finite).

        Raises:
            ValueError: Without samples, or with a non-finite one.
        """
        samples = np.asarray(samples_ms, dtype=np.float64).reshape(-1)
        if not len(samples) or not np.isfinite(samples).all():
            raise ValueError(f'timings must be finite and at least one, got '
                             f'{samples.tolist()}')
        return cls(
            float(np.median(samples)), float(samples.mean()),
            float(samples.std(ddof=1)) if len(samples) > 1 else 0.,
            len(samples))

    @classmethod
    def from_dict(cls, data: Mapping, where: str) -> 'Timing':
        """Reads ``{'median_ms', 'mean_ms', 'std_ms', 'count'}``.

        Raises:
            LatencyTableError: A value is missing, not a finite number or
                negative (``where`` names the entry).
        """
        if not isinstance(data, Mapping):
            raise LatencyTableError(f'{where}: expected a mapping of '
                                    f'median_ms, mean_ms, std_ms, count')
        values = {}
        for key in ('median_ms', 'mean_ms', 'std_ms', 'count'):
            value = data.get(key)
            if (isinstance(value, bool)
                    or not isinstance(value, numbers.Real)
                    or not math.isfinite(value)):
                raise LatencyTableError(f'{where}.{key} must be a finite '
                                        f'number, got {value!r}')
            values[key] = value
        if values['count'] < 1 or values['std_ms'] < 0:
            raise LatencyTableError(f'{where}: count must be >= 1 and '
                                    f'std_ms >= 0, got {dict(data)}')
        return cls(
            float(values['median_ms']), float(values['mean_ms']),
            float(values['std_ms']), int(values['count']))


@dataclass(frozen=True)
class DeviceRecord:
    """Where and how a latency was measured.

    Attributes:
        runtime (str): ``'pytorch'`` (eager) or ``'onnxruntime'``.
        device (str): ``'cpu'`` or ``'cuda'``.
        processor (str): The CPU model, or the GPU's name.
        threads (int): Intra-op threads.
        batch (int): Images per forward.
        versions (dict): Library versions (``torch``, ``onnxruntime``,
            ``python``); recorded, not compared.
    """

    runtime: str
    device: str
    processor: str
    threads: int
    batch: int
    versions: Dict[str, str] = field(default_factory=dict)

    #: The fields that make two devices the same for timing.
    COMPARED = ('runtime', 'device', 'processor', 'threads', 'batch')

    def describe(self) -> str:
        """``onnxruntime on cpu (Intel Xeon ...), 1 thread, batch 1``."""
        threads = f'{self.threads} thread' + ('s' if self.threads != 1 else '')
        return (f'{self.runtime} on {self.device} ({self.processor}), '
                f'{threads}, batch {self.batch}')

    def differences(self, other: 'DeviceRecord') -> List[str]:
        """The compared fields that differ, as ``threads 1 != 2``."""
        return [
            f'{name} {getattr(self, name)!r} != {getattr(other, name)!r}'
            for name in self.COMPARED
            if getattr(self, name) != getattr(other, name)
        ]


@dataclass
class LatencyTable:
    """The latency decomposition of a derived network on one device.

    Attributes:
        device (DeviceRecord): Where it was measured.
        network (str): The derived network it was measured for, in the
            words of :attr:`EdgeCosts.network
            <mmista.architecture.EdgeCosts>` (stem, channels, layers,
            input size).
        input_shape (tuple[int, ...]): The ``(N, C, H, W)`` input timed.
        fixed (Timing): Everything but the cell edges.
        edges (dict): Per cell type, per ``(op, source)``, the time of that
            op on one edge of every cell of that type together.
        method (str): How the entries were obtained (``'ops'``: each op
            timed alone at its exact input shape, the fixed part from whole
            networks; ``'ops+least_squares'``: corrected on measured
            networks).
        notes (dict): Anything else the builder records (the probes' fixed
            parts, the settings of the timing).
    """

    device: DeviceRecord
    network: str
    input_shape: tuple
    fixed: Timing
    edges: Dict[str, Dict[EdgeKey, Timing]]
    method: str = 'ops'
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        missing = [(cell, op, source) for cell in CELL_TYPES
                   for op in CANDIDATE_OPS for source in (0, 1)
                   if (op, source) not in self.edges.get(cell, {})]
        if missing:
            raise LatencyTableError(
                f'the latency table lacks {len(missing)} of its '
                f'{2 * NUM_OPS * len(CELL_TYPES)} edge entries (first: '
                f'{missing[0]}); build it again with '
                'tools/analysis_tools/latency_table.py')

    def edge_array(self, cell: str) -> np.ndarray:
        """``(NUM_OPS, 2)`` median milliseconds, ``[op, source]``."""
        return np.array([[self.edges[cell][(op, source)].median_ms
                          for source in (0, 1)] for op in CANDIDATE_OPS])

    def predict(self, edges: Mapping[str, Sequence[EdgeKey]]) -> float:
        """The predicted latency of a network, in milliseconds.

        Args:
            edges (Mapping): Per cell type, its kept edges as
                ``(op, source)`` (source 0 for an edge from a cell input).

        Returns:
            float: Fixed part plus the edges' medians.
        """
        return self.fixed.median_ms + sum(
            self.edges[cell][(op, int(source))].median_ms
            for cell in CELL_TYPES for op, source in edges[cell])

    def doubts(self) -> List[str]:
        """What makes the table's predictions doubtful, one line each
        (none for a sound table)."""
        doubts = []
        if self.fixed.median_ms < 0:
            doubts.append(
                f'the table\'s fixed part is negative '
                f'({self.fixed.median_ms:.3f} ms): its ops timed alone add '
                'up to more than the whole networks take (a busy machine, or '
                'a network too small to time), so small networks are '
                'predicted too fast; build it again on a quiet machine with '
                'more --repeats, or correct it on whole networks with '
                'tools/analysis_tools/latency_check.py --corrected FILE')
        return doubts

    def check_device(self, here: DeviceRecord, what: str) -> None:
        """Refuses a table measured elsewhere for a comparison made here.

        Args:
            here (DeviceRecord): This machine, as the comparison runs it.
            what (str): What would use the table, for the message.

        Raises:
            LatencyTableError: The devices differ.
        """
        differences = self.device.differences(here)
        if differences:
            raise LatencyTableError(
                f'{what}: the latency table was measured with '
                f'{self.device.describe()}, this run measures with '
                f'{here.describe()} ({"; ".join(differences)}); build a '
                'table here with tools/analysis_tools/latency_table.py '
                'and the same --runtime/--device/--threads/--batch')

    def to_dict(self) -> dict:
        """The table as JSON-ready data."""
        return dict(
            version=TABLE_VERSION,
            device=asdict(self.device),
            network=self.network,
            input_shape=list(self.input_shape),
            method=self.method,
            fixed=asdict(self.fixed),
            edges={
                cell: {
                    op: [asdict(self.edges[cell][(op, s)]) for s in (0, 1)]
                    for op in CANDIDATE_OPS
                }
                for cell in CELL_TYPES
            },
            notes=self.notes)

    def save(self, path: str) -> None:
        """Writes the table as JSON (atomically: a crash leaves the old
        file or none)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + '\n')

    @classmethod
    def from_dict(cls, data: Mapping, where: str = 'latency table'
                  ) -> 'LatencyTable':
        """Reads :meth:`to_dict`'s data.

        Raises:
            LatencyTableError: The data is not such a table.
        """
        if not isinstance(data, Mapping):
            raise LatencyTableError(f'{where} is not a latency table (a '
                                    'JSON object)')
        if data.get('version') != TABLE_VERSION:
            raise LatencyTableError(
                f'{where} has version {data.get("version")!r}; this mmista '
                f'reads version {TABLE_VERSION}: build it again with '
                'tools/analysis_tools/latency_table.py')
        try:
            device = dict(data['device'])
            record = DeviceRecord(
                runtime=str(device['runtime']),
                device=str(device['device']),
                processor=str(device['processor']),
                threads=int(device['threads']),
                batch=int(device['batch']),
                versions=dict(device.get('versions', {})))
            edges = {
                cell: {(op, s): Timing.from_dict(
                    data['edges'][cell][op][s], f'{where}: {cell} {op} '
                    f'from {"a node" if s else "a cell input"}')
                       for op in CANDIDATE_OPS for s in (0, 1)}
                for cell in CELL_TYPES
            }
            return cls(
                device=record,
                network=str(data['network']),
                input_shape=tuple(int(v) for v in data['input_shape']),
                fixed=Timing.from_dict(data['fixed'], f'{where}: fixed'),
                edges=edges,
                method=str(data.get('method', 'ops')),
                notes=dict(data.get('notes', {})))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            if isinstance(error, LatencyTableError):
                raise
            raise LatencyTableError(
                f'{where} is not a complete latency table '
                f'({type(error).__name__}: {error}); build it again with '
                'tools/analysis_tools/latency_table.py') from None

    @classmethod
    def load(cls, path: str) -> 'LatencyTable':
        """Reads a table file.

        Raises:
            LatencyTableError: The file is missing, not JSON or not a
                complete table; the message says what to do.
        """
        if not osp.isfile(path):
            raise LatencyTableError(
                f'latency table {path!r} not found; build one with '
                'python tools/analysis_tools/latency_table.py CONFIG '
                f'--out {path}')
        try:
            with open(path, encoding='utf-8') as file:
                data = json.load(file)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise LatencyTableError(
                f'latency table {path!r} cannot be read ({error}); build it '
                'again with tools/analysis_tools/latency_table.py') from None
        return cls.from_dict(data, f'latency table {path!r}')


def edges_of_supports(supports: Mapping[str, Sequence[Sequence[int]]]
                      ) -> Dict[str, List[EdgeKey]]:
    """Per cell type, the ``(op, source)`` of every kept candidate index
    (candidate ``k`` is op ``k % NUM_OPS`` from input ``k // NUM_OPS``)."""
    return {
        cell: [(CANDIDATE_OPS[int(k) % NUM_OPS], int(int(k) // NUM_OPS >= 2))
               for support in supports[cell] for k in support]
        for cell in CELL_TYPES
    }


def edges_of_genotype(genotype) -> Dict[str, List[EdgeKey]]:
    """Per cell type, the ``(op, source)`` of every edge of a
    :class:`~mmista.structures.Genotype`."""
    return {
        cell: [(op, int(index >= 2)) for op, index in getattr(genotype, cell)]
        for cell in CELL_TYPES
    }
