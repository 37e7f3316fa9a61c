# Copyright (c) mmista contributors. All rights reserved.
"""The genotype of a DARTS-space cell architecture.

A genotype lists, for the normal and the reduction cell, two
``(operation, input index)`` pairs per intermediate node and the nodes whose
outputs are concatenated into the cell output. Input index 0 and 1 are the
cell's two input nodes, index ``2 + j`` is intermediate node ``j``.
"""
import ast
import collections.abc
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Union

from mmista.errors import UserError
from mmista.fileio import atomic_write_text

if TYPE_CHECKING:
    from .search_space_variant import SearchSpaceVariant

#: The candidate operations of the ISTA-NAS search space, in the order that
#: indexes the architecture vectors (index ``k`` -> op ``k % len``).
CANDIDATE_OPS: Tuple[str, ...] = (
    'max_pool_3x3',
    'avg_pool_3x3',
    'skip_connect',
    'sep_conv_3x3',
    'sep_conv_5x5',
    'dil_conv_3x3',
    'dil_conv_5x5',
)

Edge = Tuple[str, int]
CELL_TYPES: Tuple[str, str] = ('normal', 'reduce')

#: The key of ``genotype.json`` that records the search-space variant the
#: genotype was searched in (see :mod:`.search_space_variant`); the cells
#: do not depend on it, so :meth:`Genotype.from_dict` passes over it.
SEARCH_SPACE_KEY = 'search_space'


class GenotypeError(UserError, ValueError):
    """Raised when a genotype is malformed."""


def _is_index(value) -> bool:
    """Whether ``value`` is an integer index: an int (numpy ints too), not
    a bool (an int subclass: JSON ``true`` is not 1 here) and not a float
    (``1.0``)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _described(value) -> str:
    """``value`` with its type, for messages (``True`` -> ``bool True``)."""
    return f'{type(value).__name__} {value!r}'


def _check_edges_per_node(value) -> int:
    """Validates ``edges_per_node`` and returns it as an int."""
    if not _is_index(value) or value < 1:
        raise GenotypeError(
            'edges_per_node: expected an integer >= 1 (the inputs kept per '
            f'intermediate node, usually 2), got {_described(value)}')
    return int(value)


def _is_list(value) -> bool:
    """Whether ``value`` is a list-like sequence (not text, not a dict)."""
    return isinstance(value, collections.abc.Sequence) and not isinstance(
        value, (str, bytes))


def _cell_edges(name: str, value) -> List[Edge]:
    """The ``(op, input)`` pairs of one cell type, checked for shape."""
    if not _is_list(value):
        raise GenotypeError(
            f'{name}: expected a list of [op, input] pairs (e.g. '
            f'[["sep_conv_3x3", 0], ["skip_connect", 1], ...]), got '
            f'{_described(value)}')
    edges = []
    for position, edge in enumerate(value):
        if not _is_list(edge) or len(edge) != 2:
            raise GenotypeError(
                f'{name}[{position}]: expected an [op, input] pair (e.g. '
                f'["sep_conv_3x3", 0]), got {_described(edge)}')
        edges.append((edge[0], edge[1]))
    return edges


def _cell_concat(name: str, value) -> List[int]:
    """The concatenated nodes of one cell type, checked for shape."""
    if not _is_list(value):
        raise GenotypeError(
            f'{name}_concat: expected a list of node indices (e.g. '
            f'[2, 3, 4, 5]), got {_described(value)}')
    return list(value)


def _check_cell(name: str, edges: Sequence[Edge], concat: Sequence[int],
                edges_per_node: int) -> None:
    """Validate the edges and the concatenated nodes of one cell type."""
    if len(edges) == 0 or len(edges) % edges_per_node:
        raise GenotypeError(
            f'{name}: expected {edges_per_node} (op, input) pairs per node, '
            f'got {len(edges)} pairs (edges_per_node={edges_per_node})')
    steps = len(edges) // edges_per_node
    for position, edge in enumerate(edges):
        if len(edge) != 2:
            raise GenotypeError(
                f'{name}[{position}]: expected an (op, input) pair, '
                f'got {edge!r}')
        op, index = edge
        node = position // edges_per_node
        if not isinstance(op, str) or op not in CANDIDATE_OPS:
            raise GenotypeError(
                f'{name}[{position}]: unknown op {op!r}; candidates are '
                f'{", ".join(CANDIDATE_OPS)}')
        if not _is_index(index) or not 0 <= index < node + 2:
            raise GenotypeError(
                f'{name}[{position}]: input {_described(index)} is not valid '
                f'for intermediate node {node} (allowed: integers '
                f'0..{node + 1})')
    nodes = list(range(2, steps + 2))
    if not concat:
        raise GenotypeError(
            f'{name}_concat: empty; list the nodes whose outputs form the '
            f'cell output, usually every intermediate node: {nodes}')
    for node in concat:
        if not _is_index(node) or not 0 <= node < steps + 2:
            raise GenotypeError(
                f'{name}_concat: node {_described(node)} does not exist in a '
                f'cell with {steps} intermediate nodes (allowed: integers '
                f'0..{steps + 1}, usually {nodes})')
    if len(set(concat)) != len(concat):
        raise GenotypeError(
            f'{name}_concat: {list(concat)} lists a node twice; list each '
            f'node once (usually {nodes})')
    if all(node < 2 for node in concat):
        raise GenotypeError(
            f'{name}_concat: {list(concat)} concatenates only the cell '
            f'inputs (0, 1), so the intermediate nodes are never used; '
            f'include intermediate nodes 2..{steps + 1} (usually {nodes})')


@dataclass(frozen=True)
class Genotype:
    """A derived DARTS-space architecture.

    Args:
        normal (list[tuple[str, int]]): ``(op, input)`` pairs of the normal
            cell, ``edges_per_node`` consecutive pairs per intermediate node.
        normal_concat (list[int]): Nodes concatenated into the normal cell's
            output.
        reduce (list[tuple[str, int]]): Pairs of the reduction cell.
        reduce_concat (list[int]): Nodes concatenated into the reduction
            cell's output.
        edges_per_node (int): Inputs kept per intermediate node (the
            sparseness ``s``). Defaults to 2.
    """

    normal: List[Edge]
    normal_concat: List[int]
    reduce: List[Edge]
    reduce_concat: List[int]
    edges_per_node: int = field(default=2)

    def __post_init__(self) -> None:
        edges_per_node = _check_edges_per_node(self.edges_per_node)
        object.__setattr__(self, 'edges_per_node', edges_per_node)
        for name in CELL_TYPES:
            edges = _cell_edges(name, getattr(self, name))
            concat = _cell_concat(name, getattr(self, f'{name}_concat'))
            _check_cell(name, edges, concat, edges_per_node)
            object.__setattr__(self, name,
                               [(op, int(index)) for op, index in edges])
            object.__setattr__(self, f'{name}_concat',
                               [int(node) for node in concat])
        if self.num_nodes('normal') != self.num_nodes('reduce'):
            raise GenotypeError(
                'normal and reduction cells must have the same number of '
                f'intermediate nodes, got {self.num_nodes("normal")} and '
                f'{self.num_nodes("reduce")}')
        if len(self.normal_concat) != len(self.reduce_concat):
            raise GenotypeError(
                'normal_concat and reduce_concat must concatenate as many '
                'nodes (the cells\' output channels follow their length), '
                f'got {self.normal_concat} and {self.reduce_concat}')

    @property
    def steps(self) -> int:
        """int: The number of intermediate nodes per cell."""
        return self.num_nodes('normal')

    def num_nodes(self, cell_type: str) -> int:
        """Number of intermediate nodes of a cell type."""
        return len(getattr(self, cell_type)) // self.edges_per_node

    def to_dict(self) -> Dict:
        """Returns a JSON-serialisable dict of the genotype."""
        return dict(
            normal=[[op, index] for op, index in self.normal],
            normal_concat=list(self.normal_concat),
            reduce=[[op, index] for op, index in self.reduce],
            reduce_concat=list(self.reduce_concat),
            edges_per_node=self.edges_per_node)

    @classmethod
    def from_dict(cls, data: Dict) -> 'Genotype':
        """Builds a genotype from :meth:`to_dict` output.

        A ``"search_space"`` record (a ``genotype.json`` written by a
        search) is passed over: read it with
        :func:`~mmista.structures.read_search_space`.

        Raises:
            GenotypeError: If a key is missing or unknown, or a value is not
                valid.
        """
        if not isinstance(data, dict):
            raise GenotypeError(
                f'a genotype must be a mapping, got {type(data).__name__}')
        allowed = {'normal', 'normal_concat', 'reduce', 'reduce_concat',
                   'edges_per_node'}
        missing = {'normal', 'reduce'} - set(data)
        unknown = set(data) - allowed - {SEARCH_SPACE_KEY}
        if missing or unknown:
            raise GenotypeError(
                f'genotype keys: missing {sorted(missing)}, unknown '
                f'{sorted(map(str, unknown))}; expected {sorted(allowed)}')
        edges_per_node = _check_edges_per_node(data.get('edges_per_node', 2))
        normal = _cell_edges('normal', data['normal'])
        steps = len(normal) // edges_per_node
        default_concat = list(range(2, 2 + steps))
        return cls(
            normal=normal,
            normal_concat=data.get('normal_concat', default_concat),
            reduce=_cell_edges('reduce', data['reduce']),
            reduce_concat=data.get('reduce_concat', default_concat),
            edges_per_node=edges_per_node)

    def to_json(
            self,
            path: Union[str, Path, None] = None,
            search_space: Optional['SearchSpaceVariant'] = None) -> str:
        """Serialises to JSON text, and writes it to ``path`` if given
        (atomically: the file is the old one or the new one, never half).

        Args:
            path (str | Path, optional): The file to write.
            search_space (SearchSpaceVariant, optional): The variant of
                the search space the genotype was searched in, recorded
                under ``"search_space"`` after the cells.

        Returns:
            str: The JSON text.
        """
        data = self.to_dict()
        if search_space is not None:
            data[SEARCH_SPACE_KEY] = search_space.to_dict()
        text = json.dumps(data, indent=2)
        if path is not None:
            atomic_write_text(str(path), text + '\n')
        return text

    @classmethod
    def from_json(cls, path_or_text: Union[str, Path]) -> 'Genotype':
        """Reads a genotype from a JSON file or JSON text."""
        text = str(path_or_text)
        if not text.lstrip().startswith('{'):
            path = Path(path_or_text)
            if not path.is_file():
                raise FileNotFoundError(f'genotype file not found: {path}')
            try:
                text = path.read_text(encoding='utf-8')
            except (OSError, UnicodeDecodeError) as error:
                raise GenotypeError(
                    f'cannot read the genotype file {path}: {error}')
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise GenotypeError(f'genotype is not valid JSON: {error}')
        return cls.from_dict(data)

    @classmethod
    def parse(cls, text: str) -> 'Genotype':
        """Parses the DARTS-style text that papers and reference code print.

        For example ``Genotype(normal=[('sep_conv_3x3', 0), ...],
        normal_concat=range(2, 6), reduce=[...], reduce_concat=[2, 3, 4, 5])``.
        The text is parsed, never evaluated.

        Raises:
            GenotypeError: If the text is not such an expression.
        """
        try:
            tree = ast.parse(text.strip(), mode='eval').body
        except SyntaxError as error:
            raise GenotypeError(f'cannot parse genotype text: {error.msg}')
        if not (isinstance(tree, ast.Call) and isinstance(
                tree.func, (ast.Name, ast.Attribute)) and not tree.args):
            raise GenotypeError(
                'expected Genotype(normal=[...], normal_concat=..., '
                'reduce=[...], reduce_concat=...) with keyword arguments')
        if any(kw.arg is None for kw in tree.keywords):
            raise GenotypeError(
                'expected Genotype(normal=[...], ...) with named keyword '
                'arguments, not **mapping')
        data = {kw.arg: _literal(kw.value) for kw in tree.keywords}
        return cls.from_dict(data)

    def __str__(self) -> str:
        return (f'Genotype(normal={self.normal}, normal_concat='
                f'{self.normal_concat}, reduce={self.reduce}, '
                f'reduce_concat={self.reduce_concat})')


def changed_nodes(before: Genotype, after: Genotype) -> Dict[str, List[int]]:
    """Per cell type, the nodes whose set of ``(op, input)`` pairs changed.

    The order of a node's pairs does not matter.

    Args:
        before (Genotype): The earlier genotype.
        after (Genotype): The later one, with as many nodes and edges per
            node.

    Returns:
        dict[str, list[int]]: Per cell type, the indices of the nodes that
        changed.

    Raises:
        GenotypeError: If the two genotypes have different shapes.
    """
    if (before.steps, before.edges_per_node) != (after.steps,
                                                 after.edges_per_node):
        raise GenotypeError(
            f'cannot compare a genotype of {before.steps} nodes x '
            f'{before.edges_per_node} edges with one of {after.steps} x '
            f'{after.edges_per_node}')
    per_node = after.edges_per_node

    def node_edges(edges: List[Edge], node: int) -> set:
        return set(map(tuple, edges[node * per_node:(node + 1) * per_node]))

    return {
        cell: [
            node for node in range(after.steps)
            if node_edges(getattr(before, cell), node) != node_edges(
                getattr(after, cell), node)
        ]
        for cell in CELL_TYPES
    }


def _literal(node: ast.AST):
    """Evaluates a literal or a ``range(start, stop)`` call."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'range' and not node.keywords):
        bounds = [_literal(arg) for arg in node.args]
        if not 1 <= len(bounds) <= 3 or not all(
                _is_index(b) for b in bounds):
            raise GenotypeError(
                'range() takes one to three integers, got '
                f'{ast.unparse(node)}')
        return list(range(*bounds))
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        raise GenotypeError(
            f'unsupported expression in genotype text: {ast.unparse(node)}')
