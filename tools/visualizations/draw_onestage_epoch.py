# Copyright (c) mmista contributors. All rights reserved.
"""Draw what happens at each epoch boundary of a one-stage search.

The order and the hooks come from the code,
:data:`mmista.engine.runner.ONESTAGE_STAGES` (which
:class:`~mmista.engine.runner.OneStageSearchLoop` registers); this script
adds a description per stage. The stages run in that order when an epoch
starts (the hooks' ``before_train_epoch``); the export runs once, when
training ends. The diagram in ``docs/en/method/onestage.md`` is this
script's output::

    python tools/visualizations/draw_onestage_epoch.py
    python tools/visualizations/draw_onestage_epoch.py --out diagram.png

Writes one PNG with matplotlib only (no system binaries).
"""
import argparse
import os.path as osp
import textwrap
from typing import Dict, List, Optional, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from mmista.engine.runner import ONESTAGE_STAGES

#: ``(title, what it does)`` of every stage, by its key in
#: ``train_cfg.stages``.
DESCRIPTIONS: Dict[str, Tuple[str, str]] = {
    'recovery': (
        'Architecture recovery',
        'For every node still searching, solve the LASSO '
        'z_j = argmin 1/2 ||A_j z - b_j||^2 + lam ||z||_1; take the new '
        'supports S_j and weights w = A_S^T b - bias; log ||z_new - z_prev|| '
        'per node and write the genotype.'),
    'termination': (
        'Termination test',
        'Once b has travelled one reference epoch and the training loss is '
        'below chance, a searching node with ||z_new - z_prev|| <= '
        'eps * S / S_ref (S: the spread of b since the last recovery) '
        'terminates: its b_j stops training, its support and weights stay '
        'fixed. At max_search_epochs every node left terminates, with a '
        'warning.'),
    'bn_freeze': (
        'Edge BatchNorms frozen or released',
        'Every BatchNorm on the edges of a searching node is held at '
        'gamma = 1, beta = 0 (not trained); those of terminated nodes '
        'train.'),
    'phase_switch': (
        'Phase switch',
        'When every node has terminated: the architecture is fixed, the '
        "weights' learning rate restarts on a fresh schedule, and the run "
        'length becomes switch epoch + eval_epochs (evaluation training).'),
    'drop_path': (
        'Drop-path ramp',
        'Drop-path is 0 while searching; after the switch it ramps linearly '
        'from 0 to drop_path_rate over the evaluation epochs.'),
    'export': (
        'Export (after the last epoch)',
        "Absorb each support weight into its op's final BatchNorm "
        "(gamma' = w gamma, beta' = w beta) and write work_dir/export/: "
        'genotype.json, an mmpretrain config.py and model.pth.'),
}


def pipeline_stages() -> List[Tuple[str, str, str]]:
    """The stages of :data:`ONESTAGE_STAGES`, in their order.

    Returns:
        list[tuple[str, str, str]]: ``(title, what it does, hook and key)``
        per stage.

    Raises:
        KeyError: If a stage of the code has no description here.
    """
    missing = [s.key for s in ONESTAGE_STAGES if s.key not in DESCRIPTIONS]
    if missing:
        raise KeyError(f'no description of the stages {missing}: add them '
                       'to DESCRIPTIONS')
    return [(*DESCRIPTIONS[stage.key],
             f'{stage.hook}  (stages.{stage.key})')
            for stage in ONESTAGE_STAGES]


#: Fill colours: the stages of every boundary, then the export.
_BOUNDARY_COLOUR = '#e8f0fb'
_EXPORT_COLOUR = '#e7f5e9'
_WRAP = 100


def parse_args(args: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the command line.

    Args:
        args (Sequence[str], optional): Arguments; defaults to
            ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: ``out`` (the PNG path) and ``dpi``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--out',
        default='docs/images/onestage_epoch_boundary.png',
        help='the PNG file to write')
    parser.add_argument(
        '--dpi', type=int, default=100, help='resolution of the PNG')
    return parser.parse_args(args)


def _draw_stage(axes, index: int, stage: Tuple[str, str, str], top: float,
                height: float, colour: str) -> None:
    """Draws one stage as a box: number and title, hook, description.

    Args:
        axes (Axes): The axes, in data units (x from 0 to 10).
        index (int): The stage's number, from 1.
        stage (tuple[str, str, str]): ``(title, what it does, hook)``.
        top (float): The box's upper edge.
        height (float): The box's height.
        colour (str): The fill colour.
    """
    title, does, hook = stage
    axes.add_patch(
        FancyBboxPatch((0.3, top - height),
                       8.6,
                       height,
                       boxstyle='round,pad=0.02,rounding_size=0.08',
                       facecolor=colour,
                       edgecolor='#4a5a70',
                       linewidth=1.2))
    axes.text(
        0.5, top - 0.17, f'{index}. {title}', fontsize=12, weight='bold',
        va='top')
    axes.text(
        8.75, top - 0.17, hook, fontsize=10.5, family='monospace',
        color='#34495e', ha='right', va='top')
    axes.text(
        0.5,
        top - 0.5,
        textwrap.fill(does, _WRAP, break_on_hyphens=False),
        fontsize=10,
        va='top',
        linespacing=1.35)


def _arrow(axes, start: Tuple[float, float], end: Tuple[float, float],
           style: str = 'arc3', dashed: bool = False) -> None:
    """Draws an arrow between two points.

    Args:
        axes (Axes): The axes.
        start (tuple[float, float]): Tail.
        end (tuple[float, float]): Head.
        style (str): A matplotlib connection style. Defaults to a straight
            line.
        dashed (bool): Draw it dashed. Defaults to False.
    """
    axes.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle='-|>',
            mutation_scale=16,
            connectionstyle=style,
            linestyle='--' if dashed else '-',
            linewidth=1.3,
            color='#4a5a70'))


def draw_epoch_boundary(path: str,
                        stages: Optional[Sequence[Tuple[str, str,
                                                        str]]] = None,
                        dpi: int = 100) -> str:
    """Draws the stages as a flow chart and writes it to a PNG file.

    Every stage but the last is one step of each epoch boundary; an arrow
    loops from the last of them back to the first (the next epoch). The
    last stage runs once, after the last epoch.

    Args:
        path (str): The PNG file to write (its folder must exist).
        stages (Sequence[tuple[str, str, str]]): ``(title, what it does,
            hook)`` per stage. Defaults to :func:`pipeline_stages`.
        dpi (int): Resolution. Defaults to 100.

    Returns:
        str: ``path``.

    Raises:
        ValueError: If fewer than two stages are given.
        FileNotFoundError: If the folder of ``path`` does not exist.
    """
    if stages is None:
        stages = pipeline_stages()
    if len(stages) < 2:
        raise ValueError('need at least one boundary stage and the export')
    folder = osp.dirname(osp.abspath(path))
    if not osp.isdir(folder):
        raise FileNotFoundError(f'no folder {folder} for {path}')
    lines = [
        len(textwrap.wrap(does, _WRAP, break_on_hyphens=False))
        for _, does, _ in stages
    ]
    heights = [0.62 + 0.22 * n for n in lines]
    gap, export_gap = 0.45, 0.75
    total = sum(heights) + gap * (len(stages) - 2) + export_gap + 0.9

    figure = Figure(figsize=(10, 0.85 * total), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, 10)
    axes.set_ylim(0, total)
    axes.set_axis_off()
    axes.text(
        0.3, total - 0.2,
        'One-stage search: at every epoch boundary (when an epoch starts), '
        'in this order', fontsize=13, weight='bold', va='top')

    top = total - 0.75
    for index, (stage, height) in enumerate(zip(stages, heights), 1):
        last = index == len(stages)
        if last:
            top -= export_gap - gap
        _draw_stage(axes, index, stage, top, height,
                    _EXPORT_COLOUR if last else _BOUNDARY_COLOUR)
        if index < len(stages) - 1:
            _arrow(axes, (4.6, top - height), (4.6, top - height - gap))
        top -= height + gap
    # the next epoch: from the last boundary stage back to the first
    first_top = total - 0.75
    last_bottom = first_top - sum(heights[:-1]) - gap * (len(stages) - 2)
    _arrow(axes, (8.9, last_bottom + 0.25), (8.9, first_top - 0.25),
           style='arc,angleA=0,angleB=0,armA=35,armB=35,rad=8')
    axes.text(
        9.62, (first_top + last_bottom) / 2, 'train the next epoch',
        rotation=90, ha='center', va='center', fontsize=10.5,
        color='#34495e')
    # the export: after the last epoch
    _arrow(axes, (4.6, last_bottom), (4.6, last_bottom - export_gap),
           dashed=True)
    axes.text(
        4.75, last_bottom - export_gap / 2, 'after the last epoch',
        va='center', fontsize=10, style='italic', color='#34495e')
    figure.savefig(path)
    return path


def main(args: Optional[Sequence[str]] = None) -> None:
    """Draws the diagram to ``--out`` and prints its path.

    Args:
        args (Sequence[str], optional): Command-line arguments; defaults to
            ``sys.argv[1:]``.
    """
    options = parse_args(args)
    print(draw_epoch_boundary(options.out, dpi=options.dpi))


if __name__ == '__main__':
    main()
