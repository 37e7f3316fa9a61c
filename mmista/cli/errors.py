# Copyright (c) mmista contributors. All rights reserved.
"""One line, not a traceback, for the failures a user can act on."""
import errno
import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from mmista.errors import UserError
from .dist import collective_failure_message

#: File-system errors whose message says everything: a read-only or full
#: disk, a quota, a file-size limit, no permission.
DISK_ERRNOS = frozenset({
    errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES,
    errno.EPERM
})

#: Exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report).
INTERRUPTED_STATUS = 130


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def disk_error_message(error: OSError) -> str:
    """What a file-system error means for the run, in one line.

    Args:
        error (OSError): An error whose ``errno`` is in
            :data:`DISK_ERRNOS`.

    Returns:
        str: The message, naming the file and what to do.
    """
    where = f' ({error.filename})' if error.filename else ''
    advice = {
        errno.EROFS: 'choose a writable folder with --work-dir',
        errno.EACCES: 'choose a folder you may write to with --work-dir',
        errno.EPERM: 'choose a folder you may write to with --work-dir',
    }.get(error.errno, 'free some space (or choose another folder with '
          '--work-dir); checkpoints already written are intact')
    return f'cannot write{where}: {error.strerror or error}; {advice}'


@contextmanager
def reported_errors(
        on_interrupt: Optional[Callable[[], str]] = None) -> Iterator[None]:
    """Turns the errors a user can act on into one ``error:`` line.

    A :class:`~mmista.errors.UserError` exits with its message, a
    read-only or full disk with :func:`disk_error_message`, Ctrl-C with
    status 130 and what ``on_interrupt`` says (e.g. how to resume), a
    distributed rank that timed out waiting for the others or lost one of
    them with :func:`~mmista.cli.dist.collective_failure_message`. Every
    other exception keeps its traceback: it is a bug.

    Args:
        on_interrupt (Callable[[], str], optional): Returns the text after
            ``error: interrupted (Ctrl-C)``.

    Yields:
        None
    """
    try:
        yield
    except UserError as error:
        sys.exit(f'error: {_first_line(error)}')
    except OSError as error:
        if error.errno not in DISK_ERRNOS:
            raise
        sys.exit(f'error: {disk_error_message(error)}')
    except RuntimeError as error:
        message = collective_failure_message(error)
        if message is None:
            raise
        sys.exit(f'error: {message}')
    except KeyboardInterrupt:
        detail = on_interrupt() if on_interrupt is not None else ''
        print(f'error: interrupted (Ctrl-C){"; " + detail if detail else ""}',
              file=sys.stderr)
        sys.exit(INTERRUPTED_STATUS)
