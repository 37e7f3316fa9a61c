# Copyright (c) mmista contributors. All rights reserved.
import matplotlib.image as mpimg
import numpy as np
import pytest

from mmista.structures import Genotype, count_ops
from mmista.visualization import plot_op_counts

# matplotlib's default colours of the groups skip, pool, sep_conv, dil_conv
GROUP_COLOURS = dict(
    skip=(0x1f, 0x77, 0xb4),
    pool=(0xff, 0x7f, 0x0e),
    sep_conv=(0x2c, 0xa0, 0x2c),
    dil_conv=(0xd6, 0x27, 0x28))


def collapsing_history():
    """A normal cell of separable convs throughout; a reduction cell that
    collapses to skips and pools over three recoveries."""
    normal = [('sep_conv_3x3', 0), ('sep_conv_5x5', 1)] * 2
    reduces = [
        [('dil_conv_3x3', 0), ('dil_conv_5x5', 1)] * 2,
        [('skip_connect', 0), ('dil_conv_5x5', 1)] * 2,
        [('skip_connect', 0), ('max_pool_3x3', 1)] * 2,
    ]
    return [
        dict(epoch=epoch, **count_ops(Genotype(normal, [2, 3], reduce,
                                               [2, 3])))
        for epoch, reduce in enumerate(reduces)
    ]


def colour_pixels(image, colour):
    rgb = (image[..., :3] * 255).round()
    return int((np.abs(rgb - colour).max(axis=-1) <= 2).sum())


def test_panels_show_each_cells_groups(tmp_path):
    path = plot_op_counts(collapsing_history(), str(tmp_path / 'ops.png'))
    assert path == str(tmp_path / 'ops.png')
    image = mpimg.imread(path)
    width = image.shape[1]
    normal, reduce = image[:, :width // 2], image[:, width // 2:]
    bars = 1000  # far more pixels than a legend's patch
    assert colour_pixels(normal, GROUP_COLOURS['sep_conv']) > bars
    for group in ('skip', 'pool', 'dil_conv'):
        assert colour_pixels(normal, GROUP_COLOURS[group]) == 0, group
    for group in ('skip', 'pool', 'dil_conv'):
        assert colour_pixels(reduce, GROUP_COLOURS[group]) > bars, group
    assert colour_pixels(reduce, GROUP_COLOURS['sep_conv']) == 0


@pytest.mark.parametrize('records', [0, 1])
def test_empty_and_single_histories_plot(tmp_path, records):
    path = plot_op_counts(collapsing_history()[:records],
                          str(tmp_path / 'ops.png'))
    with open(path, 'rb') as file:
        assert file.read(4) == b'\x89PNG'
    assert [p.name for p in tmp_path.iterdir()] == ['ops.png']  # no temp
