"""Ctrl-C as a command honours it: a flag that no swallowed exception can lose, and commits it cannot split.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the interpreter happens to be; when
that is a garbage-collector callback (JAX has one), the exception is printed as "Exception ignored"
and lost, and the command would carry on and save its result. So the command-line entry point
calls :func:`installed`, whose handler records every Ctrl-C in a flag and raises
``KeyboardInterrupt`` once (again only if that one was swallowed). Library code asks the flag at
safe points (:func:`check`: after sampling, before publishing outputs) and publishes outputs inside
:func:`deferred`, where Ctrl-C only sets the flag, so that a rename is never cut in half.

The rule: outputs are published at one *commit point* (:func:`commit_point`, called by
:mod:`bayeslaw.core.paths`). A Ctrl-C before it leaves nothing written and the command exits 130;
from it on the outputs are complete, and (under the command line) a later Ctrl-C is ignored while the
command prints its summary and exits 0. Without :func:`installed` (the Python API) nothing global
changes, except that :func:`deferred` holds SIGINT back for the few renames of a commit.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class _State:
    installed = False   # the command line's handler is in place
    pending = False     # a Ctrl-C came (and was not yet answered by rolling back a commit)
    raised = False      # the handler raised KeyboardInterrupt (and it was not swallowed)
    committed = False   # the command's outputs are published: later Ctrl-C is ignored
    deferring = 0       # inside deferred(): Ctrl-C only sets the flag


_S = _State()


def _handler(signum: int, frame: Any) -> None:
    if _S.committed:
        return
    _S.pending = True
    if not _S.deferring and not _S.raised:
        _S.raised = True
        raise KeyboardInterrupt


def _unraisable(previous):
    def hook(info: Any) -> None:
        if isinstance(info.exc_value, KeyboardInterrupt):
            _S.raised = False  # swallowed (e.g. in a gc callback): the flag has it, and the next Ctrl-C raises
            return
        previous(info)
    return hook


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def installed(*, exiting: bool = False) -> Iterator[None]:
    """The command line's SIGINT handling, for the duration of one command (previous state restored after).

    With ``exiting`` (the process ends with the command: the console script), SIGINT is ignored after it
    instead, so that a Ctrl-C during the interpreter's shutdown cannot turn a decided outcome into a crash."""
    if not _main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(previous_hook)
    saved = dict(vars(_S))
    _S.installed, _S.pending, _S.raised, _S.committed, _S.deferring = True, False, False, False, 0
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if exiting else previous)
        sys.unraisablehook = previous_hook
        for key in ("installed", "pending", "raised", "committed", "deferring"):
            setattr(_S, key, saved.get(key, getattr(_State, key)))


def pending() -> bool:
    """Whether Ctrl-C was pressed (under the command line) and the command has not yet committed."""
    return _S.pending and not _S.committed


def check() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed, even if its first exception was swallowed."""
    if pending():
        raise KeyboardInterrupt


@contextmanager
def deferred() -> Iterator[None]:
    """Inside, Ctrl-C only sets the flag (ask :func:`pending`); outside the command line, SIGINT's handler
    is swapped for the flag's during the block (main thread only) and a Ctrl-C that came after the
    block's :func:`commit_point` is raised when it ends."""
    own = not _S.installed and _main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if own:
        previous = signal.signal(signal.SIGINT, _handler)
        _S.pending = _S.raised = _S.committed = False
    _S.deferring += 1
    try:
        yield
    finally:
        _S.deferring -= 1
        if own:
            signal.signal(signal.SIGINT, previous)
            late = _S.pending
            _S.pending = _S.raised = _S.committed = False
            if late and sys.exc_info()[0] is None:
                raise KeyboardInterrupt


def commit_point(*, final: bool = True) -> bool:
    """Inside :func:`deferred`, right after the outputs were put in place: True if Ctrl-C came first (the
    caller rolls back and raises), else the outputs stand and, if ``final`` and under the command line,
    later Ctrl-C is ignored."""
    if final and _S.installed:
        _S.committed = True   # set first: a Ctrl-C from here on is ignored, one that came before is seen below
    if _S.pending:
        _S.committed = False
        return True
    return False
