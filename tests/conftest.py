# Copyright (c) mmista contributors. All rights reserved.
import pytest
import torch


@pytest.fixture(autouse=True, scope='session')
def _few_threads():
    """Two CI cores: keep torch from oversubscribing them."""
    torch.set_num_threads(2)
