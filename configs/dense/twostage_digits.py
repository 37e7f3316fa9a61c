# The dense DARTS baseline searched like configs/ista/twostage_digits.py
# (5 cells, C = 8, the embedded digits, same schedule), for comparing the
# two relaxations on a CPU. Every op of every edge runs, so each step costs
# several times an ISTA step (tools/analysis_tools/benchmark.py measures
# it).
_base_ = ['../ista/twostage_digits.py']

# DenseSuperNet's defaults are the search setting (CIFAR stem, 4 nodes,
# non-affine BatchNorms, 2 edges per node in the genotype).
model = dict(
    backbone=dict(
        _delete_=True, type='DenseSuperNet', channels=8, layers=5))
custom_hooks = [dict(type='GenotypeLoggerHook')]
