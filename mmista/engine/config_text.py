# Copyright (c) mmista contributors. All rights reserved.
"""A run's config text, formatted once for each distinct config.

mmengine's ``Runner.save_checkpoint`` records ``cfg.pretty_text`` in every
checkpoint's meta, and ``Config.pretty_text`` formats the config's Python
text with yapf each time: about 0.1 s for an evaluation config and 0.2 s
for a one-stage search config on a 2-core machine, paid at every
checkpoint. The unformatted text costs under a millisecond and decides
the formatted one, so it is the key of a one-entry cache: the text is
exactly what mmengine's formatting gives, and follows every change made to
the config during the run.
"""
from mmengine.config import Config


class TextCachingConfig(Config):
    """mmengine's ``Config`` whose :attr:`pretty_text` formats a given
    config text once and returns the same result while the text is the
    same."""

    @property
    def pretty_text(self) -> str:
        """The formatted Python text of the config, as mmengine's."""
        format_code = self._format_python_code
        object.__setattr__(self, '_format_python_code', False)
        try:
            raw = Config.pretty_text.fget(self)
        finally:
            object.__setattr__(self, '_format_python_code', format_code)
        if not format_code:
            return raw
        cached = self.__dict__.get('_formatted_text')
        if cached is None or cached[0] != raw:
            cached = (raw, Config.pretty_text.fget(self))
            object.__setattr__(self, '_formatted_text', cached)
        return cached[1]


def cache_config_text(cfg: Config) -> Config:
    """Makes ``cfg`` a :class:`TextCachingConfig`, in place (whatever holds
    it sees the same object); copies of it (the runner keeps one) are too.

    Args:
        cfg (Config): A run's config.

    Returns:
        Config: The same object.
    """
    if isinstance(cfg, Config) and not isinstance(cfg, TextCachingConfig):
        # Config's own __setattr__ would set a config key
        object.__setattr__(cfg, '__class__', TextCachingConfig)
    return cfg
