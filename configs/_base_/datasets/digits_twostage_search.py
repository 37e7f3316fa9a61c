# The embedded digits for two-stage search: the 1,437 training digits in
# two halves (first for the weights, second for the architecture), the 360
# held-out digits for validation.
_base_ = ['./digits_bs64.py']

digits_train = dict(
    type='DigitsDataset', split='train', pipeline={{_base_.train_pipeline}})

# KFoldDataset with 2 splits and fold 1: test_mode=False keeps the first
# half, test_mode=True the second.
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='KFoldDataset',
        dataset=digits_train,
        num_splits=2,
        fold=1,
        test_mode=False))
arch_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(
        type='KFoldDataset',
        dataset=digits_train,
        num_splits=2,
        fold=1,
        test_mode=True),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='CrossEntropyMetric'),
]
test_evaluator = val_evaluator
