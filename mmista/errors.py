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


class UserError(Exception):
    """A problem with the user's input or run, explained by its message."""


class ConfigError(UserError, ValueError):
    """A config value that cannot work (wrong type, out of range, missing).

    The message names the config key (e.g. ``model.backbone.lam``) and
    what values it takes.
    """
