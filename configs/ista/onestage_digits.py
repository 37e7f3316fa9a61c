# The embedded default (`make demo`): one-stage ISTA-NAS on scikit-learn's
# real handwritten digits (shipped in the package, no download) at a
# CPU-friendly size (5 cells, C = 8). The run searches until every node
# terminates, keeps training the fixed architecture, and exports the
# absorbed network to WORK_DIR/export/ for mmpretrain. Minutes on 2 cores.
_base_ = [
    '../_base_/models/ista_onestage_cifar.py',
    '../_base_/datasets/digits_bs64.py',
    '../_base_/schedules/ista_onestage_cifar.py',
    '../_base_/default_runtime.py',
]

# 5 cells: reductions at 1 and 3; the auxiliary head reads cell 3.
# Output channels: 4 * (8 * 2 * 2) = 128.
model = dict(
    backbone=dict(channels=8, layers=5),
    head=dict(in_channels=128, aux_in_channels=128))

# 23 steps per epoch instead of CIFAR-10's 521: the termination stage sets
# b's Adam lr to 3e-4 x 521 / 23 = 6.8e-3 (scale_arch_lr), so that b moves
# per epoch as far as in the reference's CIFAR-10 epoch, and scales the
# threshold 1e-3 by how far b wanders per epoch (docs/en/method/onestage.md):
# 4.8e-3 here. No node terminates while the training loss is near chance.
# Up to 20 epochs search, then 10 epochs train the fixed network. The
# weights train at lr 0.05 (batch 64).
max_search_epochs = 20
eval_epochs = 10
optim_wrapper = dict(weights=dict(optimizer=dict(lr=0.05)))
train_cfg = dict(
    max_epochs=max_search_epochs + eval_epochs,
    val_interval=5,
    stages=dict(
        termination=dict(
            max_search_epochs=max_search_epochs, scale_arch_lr=True),
        phase_switch=dict(eval_epochs=eval_epochs),
        drop_path=dict(drop_path_rate=0.1)))
default_hooks = dict(logger=dict(interval=11))
# With more processes (a larger total batch, fewer steps per epoch) the
# weights' learning rate scales with the total batch (the linear scaling
# rule); b's follows from the steps per epoch.
auto_scale_lr = dict(base_batch_size=64, enable=True)
