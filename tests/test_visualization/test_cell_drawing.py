# Copyright (c) mmista contributors. All rights reserved.
import matplotlib.image as mpimg
import pytest

from mmista.structures import Genotype, get_genotype
from mmista.visualization import draw_cell, draw_genotype

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


@pytest.mark.parametrize('name', ['ista_onestage_imagenet', 'darts_v2'])
def test_draw_both_cells(name, tmp_path):
    paths = draw_genotype(get_genotype(name), str(tmp_path / 'g'))
    assert set(paths) == {'normal', 'reduce'}
    for path in paths.values():
        with open(path, 'rb') as file:
            assert file.read(8) == PNG_SIGNATURE
        image = mpimg.imread(path)
        height, width = image.shape[:2]
        assert width > height > 200  # a wide drawing, not an empty canvas
        assert image[..., :3].std() > 0.05  # something is drawn


def test_three_edges_per_node(tmp_path):
    genotype = Genotype(
        normal=[('sep_conv_3x3', 0), ('skip_connect', 1),
                ('max_pool_3x3', 0)] + [('dil_conv_3x3', 2)] * 3,
        normal_concat=[2, 3],
        reduce=[('avg_pool_3x3', 0)] * 3 + [('sep_conv_5x5', 1)] * 3,
        reduce_concat=[2, 3],
        edges_per_node=3)
    path = draw_cell(genotype, 'normal', str(tmp_path / 'c.png'))
    with open(path, 'rb') as file:
        assert file.read(8) == PNG_SIGNATURE


def test_unknown_cell_type(tmp_path):
    with pytest.raises(ValueError, match='cell_type'):
        draw_cell(get_genotype('darts_v2'), 'other', str(tmp_path / 'x.png'))


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        draw_genotype(get_genotype('darts_v2'), str(tmp_path / 'nowhere/g'))
