# The dense DARTS relaxation of the two-stage super-net's space (the
# baseline ISTA-NAS is measured against): the same stem, 8 cells, C = 16,
# non-affine BatchNorms and head as ista_supernet_cifar.py, but every op of
# every edge runs, weighted by a softmax over the ops of each
# (input, node) pair.
_base_ = ['./ista_supernet_cifar.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='DenseSuperNet',
        channels=16,
        layers=8,
        stem='cifar',
        steps=4,
        edges_per_node=2,
        affine=False,
        pool_bn=True))
