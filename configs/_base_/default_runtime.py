# Runtime shared by every mmista config.
default_scope = 'mmista'
custom_imports = dict(imports=['mmista'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook, with every file written aside and moved
    # into place: a run killed while it saves keeps its earlier checkpoints.
    checkpoint=dict(
        type='CrashSafeCheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # Checkpoints hold plain types only, so that torch's safe (weights-only)
    # loading accepts them and `--resume` works on torch >= 2.6.
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # Random streams seeded per epoch, so that a resumed run draws what the
    # uninterrupted one would have.
    epoch_seed=dict(type='EpochSeedHook'),
    # Behind FiniteOptimWrapper (no step on a NaN/inf loss or gradient
    # norm): stop at a NaN/inf loss or score, and never write a checkpoint
    # that holds NaN/inf, so the last checkpoint is one to continue from.
    finite_loss=dict(type='FiniteLossHook'),
    # Distributed runs validate and save one network: rank 0's BatchNorm
    # statistics go to every rank first.
    bn_stats_broadcast=dict(type='BNStatsBroadcastHook'),
    # A derived network's checkpoints record its genotype, and one saved
    # from another genotype (e.g. max_pool_3x3 for avg_pool_3x3, whose
    # weights have the same names and shapes) is refused.
    genotype_checkpoint=dict(type='GenotypeCheckpointHook'),
    # Before the first iteration: the run's expected duration, and a
    # warning above warn_above_s seconds (off: enable=False).
    duration_estimate=dict(
        type='DurationEstimateHook', warn_above_s=3600, enable=True),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # Seconds a rank waits in a collective operation (gradient all-reduce,
    # broadcast, barrier) for the others before it stops with an error.
    # Longer than one rank works alone in a healthy run (rank 0 writing a
    # checkpoint or the export, a slow first batch), much shorter than
    # torch's defaults (gloo 30 min, NCCL 10 min); a number, as mmengine's
    # init_dist takes it (docs/en/user_guides/distributed_and_resume.md).
    dist_cfg=dict(backend='nccl', timeout=300),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
