# scikit-learn's real handwritten digits, embedded (no download): 1,437
# train / 360 held-out test images, 32x32x3 uint8 like CIFAR. No flip:
# mirrored digits are other symbols. Mean/std measured over all digits.
dataset_type = 'DigitsDataset'
data_preprocessor = dict(
    num_classes=10, mean=[77.8] * 3, std=[82.5] * 3, to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackInputs'),
]
# The test pipeline also serves a user's image (the export's config,
# mmpretrain's inferencer): grey, light ink on black, resized to 32x32 as
# the digits are.
# Both steps leave the dataset's own 32x32 digits unchanged, bit for bit.
test_pipeline = [
    dict(type='mmista.GreyInkOnBlack'),
    dict(type='Resize', scale=(32, 32)),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=120,
    num_workers=0,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
