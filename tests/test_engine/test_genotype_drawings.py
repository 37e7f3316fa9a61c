# Copyright (c) mmista contributors. All rights reserved.
"""A search draws each cell only when it has changed since its last
drawing; the files of every epoch and the latest ones are still written."""
import dataclasses

from mmista.engine.hooks import genotype_files
from mmista.engine.hooks.genotype_files import GenotypeWriterHook
from mmista.structures import get_genotype


def counting_draws(monkeypatch):
    """Counts the cells the hooks draw (the drawing itself is unchanged)."""
    drawn = []
    draw = genotype_files.draw_cell

    def counted(genotype, cell, path):
        drawn.append(cell)
        return draw(genotype, cell, path)

    monkeypatch.setattr(genotype_files, 'draw_cell', counted)
    return drawn


def test_unchanged_cells_are_copied_not_drawn(tmp_path, monkeypatch):
    drawn = counting_draws(monkeypatch)
    first = get_genotype('ista_onestage_cifar10')
    second = dataclasses.replace(first, reduce=get_genotype('darts_v2').reduce)
    (tmp_path / 'genotypes').mkdir()
    hook = GenotypeWriterHook()

    def save(epoch, genotype):
        stem = tmp_path / 'genotypes' / f'epoch_{epoch}'
        hook._draw_cells(str(tmp_path), str(stem), genotype)

    def png(name):
        return (tmp_path / name).read_bytes()

    save(1, first)
    assert drawn == ['normal', 'reduce']
    save(2, first)
    assert drawn == ['normal', 'reduce']  # nothing new to draw
    for cell in ('normal', 'reduce'):
        assert png(f'genotypes/epoch_2_{cell}.png') == png(
            f'genotypes/epoch_1_{cell}.png') == png(f'genotype_{cell}.png')
    save(3, second)  # a new reduction cell
    assert drawn == ['normal', 'reduce', 'reduce']
    assert png('genotypes/epoch_3_normal.png') == png(
        'genotypes/epoch_1_normal.png') == png('genotype_normal.png')
    assert png('genotypes/epoch_3_reduce.png') == png('genotype_reduce.png')
    assert png('genotype_reduce.png') != png('genotypes/epoch_1_reduce.png')
    # A copy stands for a drawing of the same cell.
    genotype_files.draw_cell(second, 'reduce', str(tmp_path / 'r.png'))
    assert png('r.png') == png('genotypes/epoch_3_reduce.png')
    del drawn[:]
    # A drawing that is gone is drawn again, not copied from nothing.
    (tmp_path / 'genotype_normal.png').unlink()
    save(4, second)
    assert drawn == ['normal']
    assert png('genotype_normal.png') == png('genotypes/epoch_4_normal.png')
