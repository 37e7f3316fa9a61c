# Copyright (c) mmista contributors. All rights reserved.
"""Predicted against measured latency of the networks a table was checked
on."""
from typing import Optional, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .figure_file import save_figure


def plot_latency_check(measured_ms: Sequence[float],
                       predicted_ms: Sequence[float],
                       path: str,
                       title: str,
                       corrected_ms: Optional[Sequence[float]] = None,
                       held_out: Optional[Sequence[bool]] = None) -> str:
    """Plots each network's predicted latency against its measured one.

    The diagonal is a perfect prediction; the band around it is ±10%.
    With ``corrected_ms`` the corrected table's predictions of the
    networks held out from its fit are drawn too.

    Args:
        measured_ms (Sequence[float]): Each network's measured median.
        predicted_ms (Sequence[float]): The table's predictions.
        path (str): The PNG file to write.
        title (str): The figure's title (the device).
        corrected_ms (Sequence[float], optional): The corrected table's
            predictions of the same networks.
        held_out (Sequence[bool], optional): Which networks the correction
            was not fitted on (only those are drawn corrected).

    Returns:
        str: ``path``.
    """
    figure = Figure(figsize=(5.5, 5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.scatter(measured_ms, predicted_ms, s=18, color='tab:blue',
                 label=f'additive table ({len(measured_ms)})')
    if corrected_ms is not None:
        keep = [i for i in range(len(measured_ms))
                if held_out is None or held_out[i]]
        axes.scatter([measured_ms[i] for i in keep],
                     [corrected_ms[i] for i in keep],
                     s=18,
                     marker='x',
                     color='tab:orange',
                     label=f'corrected, held out ({len(keep)})')
    values = list(measured_ms) + list(predicted_ms) + list(corrected_ms or [])
    low, high = 0.95 * min(values), 1.05 * max(values)
    axes.plot([low, high], [low, high], color='black', linewidth=0.8)
    axes.fill_between([low, high], [0.9 * low, 0.9 * high],
                      [1.1 * low, 1.1 * high],
                      color='grey',
                      alpha=0.15,
                      label='±10%')
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_xlabel('measured latency (ms, median)')
    axes.set_ylabel('predicted latency (ms)')
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
