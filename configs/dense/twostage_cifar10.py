# DARTS (first order) over ISTA-NAS's search space on CIFAR-10: the dense
# baseline searched exactly like configs/ista/twostage_cifar10.py (same
# split, optimizers, schedule and 50 epochs), so a comparison isolates the
# relaxation. After every epoch the genotype (the strongest softmax weight
# per input, the two strongest inputs per node) is logged and written to
# WORK_DIR/genotype.json; retrain it with tools/genotype_to_config.py as
# for an ISTA search. DARTS's own settings were batch 64, weight lr 0.025
# and architecture lr 3e-4: set them with --cfg-options if wanted.
_base_ = [
    '../_base_/models/dense_supernet_cifar.py',
    '../_base_/datasets/cifar10_twostage_search.py',
    '../_base_/schedules/ista_twostage_50e.py',
    '../_base_/default_runtime.py',
]

custom_hooks = [dict(type='GenotypeLoggerHook')]
