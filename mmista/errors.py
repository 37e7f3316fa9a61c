# Copyright (c) mmista contributors. All rights reserved.
"""The errors a user can act on.

Every problem that one line can explain (a config value out of range, a
file that cannot be read, a run that diverged) raises a subclass of
:class:`UserError` with a message that names the key or file at fault and
what to do. The scripts in ``tools/`` print such errors as one
``error: <message>`` line and exit non-zero, without a traceback (see
:func:`mmista.cli.reported_errors`); anything else is a bug and keeps its
traceback.
"""
import numbers


class UserError(Exception):
    """A problem with the user's input or run, explained by its message."""


class ConfigError(UserError, ValueError):
    """A config value that cannot work (wrong type, out of range, missing).

    The message names the config key (e.g. ``model.backbone.lam``) and
    what values it takes.
    """


def checked_int(value, key: str, minimum: int = 1, what: str = '') -> int:
    """Checks a config value that must be an integer of at least
    ``minimum`` (not a bool, a float or text).

    Args:
        value: The value the config gives.
        key (str): Its full config key (``train_cfg.max_epochs``), for the
            message.
        minimum (int): The smallest value allowed. Defaults to 1.
        what (str): What the value is, for the message. Defaults to ''.

    Returns:
        int: The value.

    Raises:
        ConfigError: The value is not such an integer.
    """
    if isinstance(value, bool) or not isinstance(
            value, numbers.Integral) or value < minimum:
        meaning = f' ({what})' if what else ''
        raise ConfigError(
            f'{key} must be an integer >= {minimum}{meaning}, got '
            f'{type(value).__name__} {value!r}')
    return int(value)
