# Copyright (c) mmista contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Registers mmista's and mmpretrain's modules in their registries.

    mmista's registries are children of mmpretrain's, and a child falls back
    to its parent only for what the parent has already registered; so
    mmpretrain's modules are imported too. mmengine's checkpoint loaders
    are replaced by mmista's weights-only reader
    (:func:`mmista.fileio.checkpoint_loading.register_checkpoint_loaders`).

    Args:
        init_default_scope (bool): Whether to make ``mmista`` the default
            scope, so that registries build from mmista's node first.
            Defaults to True.
    """
    from mmpretrain.utils import register_all_modules as register_mmpretrain
    register_mmpretrain(init_default_scope=False)

    from mmista.fileio.checkpoint_loading import register_checkpoint_loaders
    register_checkpoint_loaders()

    import mmista.datasets  # noqa: F401
    import mmista.engine  # noqa: F401
    import mmista.evaluation  # noqa: F401
    import mmista.models  # noqa: F401

    if not init_default_scope:
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('mmista', scope_name='mmista')
    elif current_scope.scope_name != 'mmista':
        warnings.warn(
            f'The current default scope "{current_scope.scope_name}" is not '
            '"mmista"; `register_all_modules` switches it to "mmista". Pass '
            '`init_default_scope=False` to keep it.')
        DefaultScope.get_instance(
            f'mmista-{datetime.datetime.now()}', scope_name='mmista')
