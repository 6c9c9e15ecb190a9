"""A run's scoring, figure and files, done by a second process that starts before the
simulation.

What a ``neuroattn run`` needs after it simulates -- pandas to score, matplotlib to draw
-- takes longer to import than a numba run of 256 Posner trials takes to simulate. The
trials need neither (``Trials.conditions`` becomes a DataFrame only when read), so the
command forks a reporter as soon as the trials are made: the reporter imports those
modules on the machine's other core while the command imports its engine and
simulates, then scores the Recording it is sent, draws the figure and writes the run
(``save_run``: complete or not at all). The parent prints what the reporter returns.

The reporter runs the same code on the same trials (a forked copy of them), so the
files are those an in-process run writes (a test compares them byte for byte). It is
used where ``os.fork`` is safe to call (Linux); elsewhere, or with
``NEUROATTN_REPORTER=0`` in the environment, a run does everything in one process.

Failure handling: an exception in the reporter comes back to the parent and is raised
there (its traceback in the message when it cannot be sent as itself); a reporter that
dies without answering is a ``RuntimeError`` naming its exit status; if the parent fails
or is interrupted before it sends the Recording, it stops the reporter, which then writes
nothing. A reporter that finds its parent gone exits without writing.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import traceback

__all__ = ["Reporter", "available"]


def available() -> bool:
    """Whether a run may fork a reporter here: Linux (where forking a process that has
    imported numpy is safe), not switched off by ``NEUROATTN_REPORTER=0``."""
    return (hasattr(os, "fork") and sys.platform.startswith("linux")
            and os.environ.get("NEUROATTN_REPORTER", "1") != "0")


class Reporter:
    """A forked process that prepares while the caller simulates, then does ``work``.

    Parameters
    ----------
    prepare : callable ``() -> None``
        Run in the reporter at once (the imports the work will need).
    work : callable ``(message) -> object``
        Run in the reporter on the message :meth:`finish` sends; what it returns (which
        must pickle) is what :meth:`finish` returns.
    """

    def __init__(self, prepare, work):
        sys.stdout.flush()
        sys.stderr.flush()
        to_child, self._send = os.pipe()
        self._reply, from_child = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the reporter: never returns
            os.close(self._send)
            os.close(self._reply)
            _serve(prepare, work, to_child, from_child)
        os.close(to_child)
        os.close(from_child)

    def finish(self, message):
        """Send ``message``; return what the reporter's ``work`` returned for it.

        Raises what ``work`` raised, or RuntimeError if the reporter died first.
        """
        try:
            with os.fdopen(self._send, "wb") as pipe:
                pickle.dump(message, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        except BrokenPipeError:
            pass  # the reporter is gone: its status says why (below)
        with os.fdopen(self._reply, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if not data:
            raise RuntimeError(f"the run's reporter process (pid {self.pid}) ended without "
                               f"an answer (exit status {os.waitstatus_to_exitcode(status)}); "
                               f"rerun with NEUROATTN_REPORTER=0 to score in one process")
        ok, value = pickle.loads(data)
        if ok:
            return value
        raise value

    def cancel(self) -> None:
        """Stop the reporter before it was sent anything; it writes nothing."""
        for fd in (self._send, self._reply):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _serve(prepare, work, inbox: int, outbox: int):
    """The reporter's life: prepare, wait for the message, work, answer, exit."""
    code = 1
    try:
        # stopped by the parent (cancel) or interrupted: unwind, so that a run half
        # written is removed by save_run's own clean-up
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        prepare()
        with os.fdopen(inbox, "rb") as pipe:
            data = pipe.read()
        if not data:  # the parent stopped before sending: nothing to report
            os._exit(1)
        message = pickle.loads(data)
        try:
            answer = (True, work(message))
        except Exception as exc:  # noqa: BLE001 -- raised again in the parent
            exc.add_note("in the run's reporter process:\n"
                         + "".join(traceback.format_tb(exc.__traceback__)))
            answer = (False, _sendable(exc))
        payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(outbox, "wb") as pipe:
            pipe.write(payload)
        code = 0
    except BaseException:  # noqa: BLE001 -- a reporter never returns into the caller
        code = 1
    finally:
        os._exit(code)


def _sendable(exc: Exception) -> Exception:
    """``exc`` itself if it survives pickling, else a RuntimeError with its traceback."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        text = "".join(traceback.format_exception(exc))
        return RuntimeError(f"the run's reporter failed:\n{text}")
