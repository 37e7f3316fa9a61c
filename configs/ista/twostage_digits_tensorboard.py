# configs/ista/twostage_digits.py with TensorBoard next to the plain JSON
# log: the training losses, accuracies and learning rates per iteration,
# the validation metrics, and the architecture scalars of every recovery
# (arch/changed_nodes, arch/b_norm_normal, arch/b_norm_reduce) go to
# WORK_DIR/<timestamp>/vis_data/. View them with
#   tensorboard --logdir WORK_DIR
# (`pip install tensorboard`). The same two lines add TensorBoard to any
# config.
_base_ = ['./twostage_digits.py']

visualizer = dict(vis_backends=[
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
])
