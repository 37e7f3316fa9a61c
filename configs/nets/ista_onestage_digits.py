# The published one-stage ISTA-NAS cell at a CPU-friendly size (5 cells,
# C = 8) trained on scikit-learn's real handwritten digits, which ship
# inside the package (no download). The demo (`make demo`) searches its own
# cell instead: configs/ista/onestage_digits.py.
_base_ = [
    '../_base_/models/darts_cifar.py',
    '../_base_/datasets/digits_bs64.py',
    '../_base_/schedules/darts_cifar_600e.py',
    '../_base_/default_runtime.py',
]

# 5 cells: reductions at 1 and 3; the auxiliary head reads cell 3 (8x8).
# Output channels: 4 * (8 * 2 * 2) = 128.
model = dict(
    backbone=dict(
        genotype='ista_onestage_cifar10',
        bn_append=True,
        channels=8,
        layers=5),
    head=dict(in_channels=128, aux_in_channels=128))

max_epochs = 8
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=3e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True)
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
custom_hooks = [dict(type='DropPathRampHook', drop_path_rate=0.1)]
default_hooks = dict(logger=dict(interval=10))
