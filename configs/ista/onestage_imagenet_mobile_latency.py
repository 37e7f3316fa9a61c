# One-stage ISTA-NAS on ImageNet for a CPU: the mobile setting's 600M
# multiply-adds at 224x224 and, with them, at most 12 ms per image with ONNX
# Runtime on one CPU thread, batch 1, on the machine the search runs on
# (its rank 0 measures the latency table when the search starts: about a
# minute; WORK_DIR/latency_table.json). The published one-stage ImageNet
# cell (configs/nets/ista_onestage_imagenet.py, 632M) took 15 ms on the CPU
# these docs were measured on. To search for another device, build its
# table there (python tools/analysis_tools/latency_table.py
# configs/nets/ista_onestage_imagenet.py --out TABLE) and give
# latency_table='TABLE' (docs/en/user_guides/latency_budget.md).
_base_ = ['./onestage_imagenet_mobile.py']

train_cfg = dict(
    stages=dict(
        recovery=dict(
            budget=dict(
                latency_ms=12.0,
                latency_table=dict(runtime='onnxruntime', threads=1)))))
