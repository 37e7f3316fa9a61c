# DARTS-style evaluation training on CIFAR-10: 600 epochs, SGD lr 0.025
# cosine to 0, momentum 0.9, wd 3e-4, gradient-norm clip 5, drop-path 0.2
# ramped linearly, as the reference's tools/evaluation.py does (its default
# --drop_path_prob 0.2; main_evaluation.sh passes no other).
optim_wrapper = dict(
    # no optimizer step on a NaN/inf loss or gradient norm
    type='FiniteOptimWrapper',
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5., norm_type=2))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=600, eta_min=0., by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=600, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = [dict(type='DropPathRampHook', drop_path_rate=0.2)]
# The paper's batch: learning rates scale from it with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=96)
