# One-stage search, then evaluation training in the same run (CIFAR-10;
# docs/en/method/onestage.md). Search: one backward per batch updates the
# weights (SGD lr 0.025 fixed, momentum 0.9, wd 3e-4, clip 5) and b (Adam 3e-4,
# betas (0.5, 0.999), wd 1e-3); no drop-path. After every epoch the active
# nodes are recovered and a node terminates once ||z_new - z_prev|| <= 1e-3
# (the reference's README: about 120 epochs for all). Then 600 epochs of
# evaluation training: lr 0.025 cosine to 0, drop-path ramped to 0.2. At the
# end the network is absorbed and exported to WORK_DIR/export/.
max_search_epochs = 300  # a cap (warned); the reference's: 600 (README: ~120)
eval_epochs = 600
optim_wrapper = dict(
    constructor='SearchOptimWrapperConstructor',
    weights=dict(
        type='FiniteOptimWrapper',
        optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
        clip_grad=dict(max_norm=5., norm_type=2)),
    architecture=dict(
        type='FiniteOptimWrapper',
        optimizer=dict(
            type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)),
)
# Fixed learning rates while searching; PhaseSwitchHook installs the
# evaluation schedule.
param_scheduler = dict(weights=[], architecture=[])
# OneStageSearchLoop runs the stages of every epoch boundary in a fixed
# order (recovery -> termination -> bn_freeze -> phase_switch -> drop_path;
# export at the end); a config overrides one field of one stage by key,
# e.g. train_cfg = dict(stages=dict(termination=dict(eps=5e-3))).
# max_epochs bounds the run until the switch, which sets it to switch +
# eval_epochs.
train_cfg = dict(
    type='OneStageSearchLoop',
    max_epochs=max_search_epochs + eval_epochs,
    val_interval=10,
    stages=dict(
        recovery=dict(type='ArchitectureRecoveryHook'),
        # The reference's threshold 1e-3, on b's clock: scaled by how far
        # b wandered since the last recovery against the reference's
        # CIFAR-10 epoch (521 steps at Adam lr 3e-4); no test before b has
        # travelled that epoch, nor while the training loss is within 25%
        # of chance (docs/en/method/onestage.md#the-termination-rule-on-any-data).
        termination=dict(
            type='TerminationHook',
            eps=1e-3,
            reference_epoch=dict(iters=521, lr=3e-4),
            scale_arch_lr=False,
            chance_margin=0.25,
            max_search_epochs=max_search_epochs,
            min_search_epochs=0,
            min_search_iters=0),
        bn_freeze=dict(type='EdgeBNFreezeHook'),
        phase_switch=dict(
            type='PhaseSwitchHook',
            eval_epochs=eval_epochs,
            # to 0 as in the paper; the reference code floors it at 1e-3
            param_scheduler=dict(
                type='CosineAnnealingLR', eta_min=0., by_epoch=True)),
        drop_path=dict(type='DropPathRampHook', drop_path_rate=0.2),
        export=dict(type='ExportHook')))
val_cfg = dict()
test_cfg = dict()
# Distributed runs: DDP that runs the search step; the ops outside the
# supports get no gradient; rank 0's BatchNorm statistics go to every rank
# at each forward, so validation and the export see one network.
# (mmengine's Runner looks wrappers up in its root registry, which does not
# reach mmista's: hence the import path.)
model_wrapper_cfg = dict(
    type='mmista.models.wrappers.SearchDistributedDataParallel',
    find_unused_parameters=True,
    broadcast_buffers=True)
# The paper's batch: learning rates scale from it with --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=96)
