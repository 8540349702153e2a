"""Run a long job (a scan) off the GUI thread and relay what it says as Qt signals.

The job is a generator, as in the core: it yields ``Progress`` and returns its result. The worker
only drives it, checks a cancel flag between yields, and turns the outcome into exactly one of
``finished(result)``, ``failed(error)`` or ``cancelled()``, followed by ``done()``.
(The pattern of superqt's ``GeneratorWorker``, in a few lines.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from scanner_app.core.errors import CancelledError
from scanner_app.core.types import Progress

Job = Callable[[], Generator[Progress, None, Any]]


class GeneratorWorker(QObject):
    """Drives one job generator in whatever thread it lives in."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the generator's return value
    failed = Signal(object)  # the exception (ScannerError for the user, anything else is a bug)
    cancelled = Signal()
    done = Signal()  # always last, whatever happened

    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next yield (thread-safe)."""
        self._cancel.set()

    def is_cancelled(self) -> bool:
        """Whether cancelling was requested."""
        return self._cancel.is_set()

    @Slot()
    def run(self) -> None:
        """Drive the generator to its end, or until cancelled; never lets an exception escape."""
        try:
            gen = self._job()
            result = None
            while True:
                if self._cancel.is_set():
                    gen.close()
                    self.cancelled.emit()
                    return
                try:
                    step = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                self.progress.emit(step)
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(result)
        except CancelledError:
            self.cancelled.emit()
        except BaseException as error:  # noqa: BLE001 - relayed to the GUI, which reports it
            self.failed.emit(error)
        finally:
            self.done.emit()


class JobRunner(QObject):
    """Owns at most one worker thread at a time: start, cancel, and wait for it."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    idle = Signal()  # the thread has fully stopped

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: GeneratorWorker | None = None

    def is_running(self) -> bool:
        """Whether a job is running (or its thread has not yet stopped)."""
        return self._thread is not None

    def start(self, job: Job) -> bool:
        """Start ``job`` in a new thread; returns False (and does nothing) if one is already running."""
        if self._thread is not None:
            return False
        thread = QThread()
        thread.setObjectName("scan-worker")
        worker = GeneratorWorker(job)
        worker.moveToThread(thread)
        # Queued connections: these slots run in the GUI thread, in order.
        worker.progress.connect(self.progress)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(self.cancelled)
        # Direct: quit() is thread-safe; a queued call would never run while the GUI thread sits in wait().
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.started.connect(worker.run)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next step."""
        if self._worker is not None:
            self._worker.cancel()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block until the thread stops (used when the window closes); True if it did."""
        thread = self._thread
        if thread is None:
            return True
        stopped = thread.wait(timeout_ms)
        if stopped:
            self._on_thread_finished()
        return stopped

    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread, worker = self._thread, self._worker
        self._thread, self._worker = None, None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self.idle.emit()
