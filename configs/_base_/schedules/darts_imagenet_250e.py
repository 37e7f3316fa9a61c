# DARTS-style evaluation training on ImageNet: 250 epochs, SGD lr 0.5,
# momentum 0.9, wd 3e-5, gradient-norm clip 5; linear warm-up over the first
# 5 epochs (the reference's tools/evaluation_imagenet.py does so for batches
# above 256, per epoch; here per iteration), then linear decay to 0 from
# epoch 5 (the reference's line starts at epoch 0 and bends for the last 5
# epochs; docs/en/notes/reference_differences.md gives it as an override).
# Total batch 1024 = 8 GPUs x 128; for other GPU counts pass --auto-scale-lr
# (mmengine scales lr by actual_batch / 1024).
optim_wrapper = dict(
    # no optimizer step on a NaN/inf loss or gradient norm
    type='FiniteOptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=3e-5),
    clip_grad=dict(max_norm=5., norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.2,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.0,
        by_epoch=True,
        begin=5,
        end=250),
]
train_cfg = dict(by_epoch=True, max_epochs=250, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)
