# Fine-tune a searched network on another image folder, mmpretrain's usual
# transfer workflow (docs/en/user_guides/custom_dataset.md): the export's
# network with its backbone weights loaded, a new classifier for
# num_classes classes, trained with SGD (lr 0.01 cosine to 0) for
# max_epochs. Edit the _base_ path (the export's config.py, relative to
# this file), the checkpoint next to it, the new data and its number of
# classes. The export holds a plain classifier run (its runtime, and the
# search's drop-path ramp among custom_hooks: custom_hooks = [] trains
# without it; docs/en/user_guides/export.md), so this runs in one process
# or in several (bash tools/dist_train.sh configs/ista/finetune_export.py 2).
_base_ = ['../../work_dirs/custom/export/config.py']
checkpoint = 'work_dirs/custom/export/model.pth'
data_root = 'data/other'
num_classes = 5
max_epochs = 30

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    head=dict(num_classes=num_classes,
              topk=(1, 5) if num_classes >= 5 else (1, )))
# The new images as a folder (data_root/train/<class>/, data_root/val/
# <class>/), with the search's own pipelines.
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline={{_base_.train_pipeline}}),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, 5) if num_classes >= 5 else 1)
test_evaluator = val_evaluator

optim_wrapper = dict(
    # no optimizer step on a NaN/inf loss or gradient norm
    type='FiniteOptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5., norm_type=2))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
