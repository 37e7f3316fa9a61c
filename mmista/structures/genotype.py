# Copyright (c) mmista contributors. All rights reserved.
"""The genotype of a DARTS-space cell architecture.

A genotype lists, for the normal and the reduction cell, two
``(operation, input index)`` pairs per intermediate node and the nodes whose
outputs are concatenated into the cell output. Input index 0 and 1 are the
cell's two input nodes, index ``2 + j`` is intermediate node ``j``.
"""
import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from mmista.errors import UserError
from mmista.fileio import atomic_write_text

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


class GenotypeError(UserError, ValueError):
    """Raised when a genotype is malformed."""


def _check_cell(name: str, edges: Sequence[Edge], concat: Sequence[int],
                edges_per_node: int) -> None:
    """Validate the edges and the concatenated nodes of one cell type."""
    if len(edges) == 0 or len(edges) % edges_per_node:
        raise GenotypeError(
            f'{name}: expected {edges_per_node} (op, input) pairs per node, '
            f'got {len(edges)} pairs')
    steps = len(edges) // edges_per_node
    for position, edge in enumerate(edges):
        if len(edge) != 2:
            raise GenotypeError(
                f'{name}[{position}]: expected an (op, input) pair, '
                f'got {edge!r}')
        op, index = edge
        node = position // edges_per_node
        if op not in CANDIDATE_OPS:
            raise GenotypeError(
                f'{name}[{position}]: unknown op {op!r}; candidates are '
                f'{", ".join(CANDIDATE_OPS)}')
        if not isinstance(index, int) or not 0 <= index < node + 2:
            raise GenotypeError(
                f'{name}[{position}]: input {index!r} is not valid for '
                f'intermediate node {node} (allowed: 0..{node + 1})')
    for node in concat:
        if not isinstance(node, int) or not 0 <= node < steps + 2:
            raise GenotypeError(
                f'{name}_concat: node {node!r} does not exist in a cell with '
                f'{steps} intermediate nodes')


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
        for name in CELL_TYPES:
            edges = [tuple(edge) for edge in getattr(self, name)]
            concat = list(getattr(self, f'{name}_concat'))
            object.__setattr__(self, name, edges)
            object.__setattr__(self, f'{name}_concat', concat)
            _check_cell(name, edges, concat, self.edges_per_node)
        if self.num_nodes('normal') != self.num_nodes('reduce'):
            raise GenotypeError(
                'normal and reduction cells must have the same number of '
                f'intermediate nodes, got {self.num_nodes("normal")} and '
                f'{self.num_nodes("reduce")}')

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
        unknown = set(data) - allowed
        if missing or unknown:
            raise GenotypeError(
                f'genotype keys: missing {sorted(missing)}, unknown '
                f'{sorted(unknown)}; expected {sorted(allowed)}')
        steps = len(data['normal']) // data.get('edges_per_node', 2)
        default_concat = list(range(2, 2 + steps))
        return cls(
            normal=[tuple(edge) for edge in data['normal']],
            normal_concat=list(data.get('normal_concat', default_concat)),
            reduce=[tuple(edge) for edge in data['reduce']],
            reduce_concat=list(data.get('reduce_concat', default_concat)),
            edges_per_node=int(data.get('edges_per_node', 2)))

    def to_json(self, path: Union[str, Path, None] = None) -> str:
        """Serialises to JSON text, and writes it to ``path`` if given
        (atomically: the file is the old one or the new one, never half)."""
        text = json.dumps(self.to_dict(), indent=2)
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
            text = path.read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
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
        if not all(isinstance(b, int) for b in bounds):
            raise GenotypeError('range() bounds must be integers')
        return list(range(*bounds))
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise GenotypeError(
            f'unsupported expression in genotype text: {ast.unparse(node)}')
