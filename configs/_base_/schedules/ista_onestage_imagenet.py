# One-stage search and evaluation on ImageNet (docs/en/method/onestage.md): the
# CIFAR schedule with SGD lr 0.5, wd 3e-5 and Adam 6e-3 on b; after the
# switch, 250 epochs with the lr decaying linearly to 0 and no drop-path.
# The reference has no ImageNet search; mmista's own choices here (see
# docs/en/notes/reference_differences.md): clip 5, a warm-up of the weights'
# lr from 0.1 over the first 5 epochs (as the reference's ImageNet
# evaluation does for batches above 256) and the 100-epoch search cap.
# Total batch 1024 = 8 GPUs x 128: for other GPU counts pass --auto-scale-lr
# (lr scaled by batch / 1024).
_base_ = ['./ista_onestage_cifar.py']

max_search_epochs = 100  # a cap (with a warning)
eval_epochs = 250
optim_wrapper = dict(
    weights=dict(optimizer=dict(lr=0.5, weight_decay=3e-5)),
    architecture=dict(optimizer=dict(lr=6e-3)))
param_scheduler = dict(weights=[
    dict(
        type='LinearLR',
        start_factor=0.2,
        end_factor=1.0,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True)
])
train_cfg = dict(
    max_epochs=max_search_epochs + eval_epochs,
    val_interval=1,
    stages=dict(
        termination=dict(max_search_epochs=max_search_epochs),
        phase_switch=dict(
            eval_epochs=eval_epochs,
            param_scheduler=dict(
                _delete_=True,
                type='LinearLR',
                start_factor=1.0,
                end_factor=0.,
                by_epoch=True)),
        drop_path=None))
auto_scale_lr = dict(base_batch_size=1024)
