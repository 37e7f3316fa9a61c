# Copyright (c) mmista contributors. All rights reserved.
"""Whether a run is learning: its training loss and accuracy against
chance.

A classifier that predicts the uniform distribution over ``K`` classes has
cross-entropy ``ln K`` on any labels (label smoothing included), and one
that guesses has top-1 accuracy ``1 / K``. A search whose training loss
still sits near ``ln K`` has not learned anything its architecture
variables could follow; an exported network whose validation accuracy is
not clearly above ``1 / K`` has learned nothing.
"""
import math
from typing import Optional

from .utils import unwrapped_model

#: Message-hub info: the mean training loss of the last epoch
#: (``train/loss``: the main classification loss), checkpointed.
EPOCH_LOSS = 'search/epoch_train_loss'
#: Message-hub info: epochs in a row, up to the last, whose mean training
#: loss was near chance.
CHANCE_EPOCHS = 'search/epochs_at_chance_loss'


def num_classes_of(runner) -> Optional[int]:
    """The number of classes of the run's classification head, if any."""
    head = getattr(unwrapped_model(runner), 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    return num_classes if isinstance(num_classes, int) else None


def chance_loss(num_classes: int) -> float:
    """The cross-entropy of a uniform prediction, ``ln K``."""
    return math.log(num_classes)


def near_chance_loss(loss: float, num_classes: int, margin: float) -> bool:
    """Whether ``loss`` is within ``margin * ln K`` of chance (or not
    finite).

    Args:
        loss (float): A mean training loss.
        num_classes (int): ``K``.
        margin (float): The fraction of ``ln K`` the loss must have fallen
            below chance.

    Returns:
        bool: True while ``loss > (1 - margin) * ln K``.
    """
    return not loss <= (1 - margin) * chance_loss(num_classes)


def chance_accuracy_bound(num_classes: int, num_images: int) -> float:
    """The top-1 accuracy (percent) below which a network is not clearly
    better than guessing.

    Guessing gets ``c = 1 / K`` right on average, with a standard deviation
    of ``sqrt(c (1 - c) / n)`` on ``n`` images; the bound is three of them
    above ``c`` (a guess exceeds it with probability below 0.2%).

    Args:
        num_classes (int): ``K``.
        num_images (int): ``n``, the validation images.

    Returns:
        float: The bound in percent.
    """
    chance = 1 / num_classes
    spread = math.sqrt(chance * (1 - chance) / max(num_images, 1))
    return 100 * (chance + 3 * spread)
