# Copyright (c) mmista contributors. All rights reserved.
"""Writing a matplotlib figure to a file that is whole or absent."""
import os.path as osp

from matplotlib.figure import Figure

from mmista.fileio import atomic_write


def save_figure(figure: Figure, path: str) -> str:
    """``figure.savefig(path)``, written aside and moved into place.

    Args:
        figure (Figure): The figure.
        path (str): The image file; its extension names the format
            (``.png`` when it has none).

    Returns:
        str: ``path``.
    """
    image_format = osp.splitext(path)[1][1:].lower() or 'png'
    with atomic_write(path, 'wb') as file:
        figure.savefig(file, format=image_format)
    return path
