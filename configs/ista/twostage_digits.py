# Two-stage ISTA-NAS search on the embedded digits: the CIFAR-10 search at
# a CPU-friendly size (5 cells, C = 8, 20 epochs). Minutes on 2 CPU cores;
# the genotype lands in WORK_DIR/genotype.json. Retrain it with
#   python tools/genotype_to_config.py WORK_DIR/genotype.json \
#       --base configs/nets/ista_twostage_digits.py \
#       --out WORK_DIR/eval_config.py
#   python tools/train.py WORK_DIR/eval_config.py
_base_ = [
    '../_base_/models/ista_supernet_cifar.py',
    '../_base_/datasets/digits_twostage_search.py',
    '../_base_/schedules/ista_twostage_50e.py',
    '../_base_/default_runtime.py',
]

# 5 cells: reductions at 1 and 3; 4 * 32 = 128 output channels.
model = dict(
    backbone=dict(channels=8, layers=5), head=dict(in_channels=128))

# 20 epochs of 22 steps per split at batch 32: 440 steps where the paper
# takes 50 x 98 = 4,900, so the learning rates are larger than the paper's
# (weights 0.1 instead of 0.2 at batch 256; b 3e-3 instead of 6e-4, within
# the paper's ImageNet 6e-3) for b to move within the run.
max_epochs = 20
train_dataloader = dict(batch_size=32)
arch_dataloader = dict(batch_size=32)
optim_wrapper = dict(
    weights=dict(optimizer=dict(lr=0.1)),
    architecture=dict(optimizer=dict(lr=3e-3)))
param_scheduler = dict(weights=[
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.,
         by_epoch=True)
])
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=11))
auto_scale_lr = dict(base_batch_size=32)
