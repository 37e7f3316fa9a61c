# Copyright (c) mmista contributors. All rights reserved.
import os

import numpy
import pytest
import torch
from threadpoolctl import threadpool_info

# What the numerics kernels of torch follow besides the CPU itself.
_TORCH_KERNEL_CAPS = ('MKL_ENABLE_INSTRUCTIONS', 'ONEDNN_MAX_CPU_ISA')


def pytest_report_header(config):
    """Names the numerical kernels this run uses (see .ci/test_kernels.sh).

    Returns:
        str: OpenBLAS's core type for numpy/scipy, torch's vectorised CPU
        capability and any cap set on MKL or oneDNN.
    """
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS)

    blas = sorted({
        f"{info['prefix']} {info.get('architecture', '?')}"
        for info in threadpool_info() if info['user_api'] == 'blas'
    })
    caps = [f'{name}={os.environ[name]}' for name in _TORCH_KERNEL_CAPS
            if name in os.environ]
    return (f"kernels: numpy {numpy.__version__} / scipy BLAS "
            f"{', '.join(blas)}; torch {torch.__version__} CPU capability "
            f'{torch.backends.cpu.get_cpu_capability()}'
            + (f" ({', '.join(caps)})" if caps else ''))


@pytest.fixture(autouse=True, scope='session')
def _few_threads():
    """Two CI cores: keep torch from oversubscribing them."""
    torch.set_num_threads(2)
