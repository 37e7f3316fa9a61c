# One-stage ISTA-NAS on ImageNet for a CPU: the mobile setting's 600M
# multiply-adds at 224x224 and, with them, at most 12 ms per image with ONNX
# Runtime on one thread, batch 1, on the CPU of the latency table it reads
# (configs/latency_tables/, built with tools/analysis_tools/latency_table.py
# on the CPU these docs were measured on and corrected on 23 whole networks
# with latency_check.py --corrected). The published one-stage ImageNet cell
# (configs/nets/ista_onestage_imagenet.py, 632M) took 15.7 ms there. The
# search predicts the latency on that CPU wherever it runs (on GPUs, for
# instance). To search for another device, build and correct its table
# there (docs/en/user_guides/latency_budget.md) and give it as
# latency_table, or run with --measure-latency-table to measure one on the
# machine the search runs on.
_base_ = ['./onestage_imagenet_mobile.py']

train_cfg = dict(
    stages=dict(
        recovery=dict(
            budget=dict(
                latency_ms=12.0,
                latency_table=('../latency_tables/'
                               'onestage_imagenet_onnxruntime_1thread.json'))))
)
