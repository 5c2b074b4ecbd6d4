"""A rollout worker in its own process (``train.backend=process``).

The thread backend shares the learner's process, so the rollout's Python code competes with
the learner for the GIL and for torch's threads. Here the worker is a separate process (spawned,
so nothing of the learner's state is inherited): it builds its own env, deployment gap,
intervention source and rollout policy from a picklable `CollectorRecipe`, pins torch to one
thread, and answers the same `Collector` calls as the other backends through a pipe. Policy
weights go one way, finished episodes (numpy arrays) and evaluation results the other; nothing
is pickled from an untrusted party (both ends are this run).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import sys
import threading
import traceback
from collections import deque
from concurrent.futures import Future
from typing import Any

from warl.core.errors import WarlError
from warl.core.rollout.recipe import CollectorRecipe

START_TIMEOUT_S = 300


class WorkerError(WarlError, RuntimeError):
    """The rollout worker process failed; the message holds its traceback."""


def _send(conn: Any, obj: Any) -> None:
    """Plain pickling: multiprocessing's own pickler would move tensors to shared memory,
    which sandboxes and small /dev/shm mounts refuse."""
    conn.send_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(conn: Any) -> Any:
    # A pipe between this run's own two processes, never a socket: pickle is safe here.
    return pickle.loads(conn.recv_bytes())


def _serve(conn: Any, recipe_bytes: bytes) -> None:
    """The worker process: build the collector, then answer calls until told to stop."""
    try:
        collector = pickle.loads(recipe_bytes).build()
        _send(conn, ("ready", None))
    except BaseException:  # reported to the learner, which raises it
        _send(conn, ("error", traceback.format_exc()))
        return
    while True:
        message = _recv(conn)
        if message is None:
            return
        method, args = message
        try:
            _send(conn, ("ok", getattr(collector, method)(*args)))
        except BaseException:
            _send(conn, ("error", traceback.format_exc()))


class ProcessBackend:
    """Runs `Collector` calls in a worker process; calls are answered in order.

    A worker that dies (killed, out of memory, a crashing simulator) is started again from the
    recipe, up to ``max_restarts`` times, and the calls it had not answered are sent again:
    each is fixed by its policy weights and seeds, so the episode is collected again exactly
    and none is returned twice. Past that, or if a fresh worker cannot start, every pending
    call fails with a `WorkerError`.
    """

    workers = 1

    def __init__(self, recipe: CollectorRecipe, max_restarts: int = 3) -> None:
        self._recipe, self.max_restarts, self.restarts = pickle.dumps(recipe), max_restarts, 0
        self._pending: deque[tuple[Future[Any], Any]] = deque()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one message on the pipe at a time
        self._generation = 0  # counts worker restarts
        self._closing = False
        self._dead: WorkerError | None = None  # set once the worker is gone for good
        self._start()
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name="warl-rollout-reader")
        self._reader.start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, self._recipe), daemon=True,
                                       name="warl-rollout")
        self.process.start()
        child.close()
        if not self.conn.poll(START_TIMEOUT_S):
            self._stop()
            raise WorkerError(f"the rollout worker did not start within {START_TIMEOUT_S} s")
        status, detail = _recv(self.conn)
        if status != "ready":
            self._stop()
            raise WorkerError(f"the rollout worker failed to start:\n{detail}")

    def submit(self, method: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._dead is not None:
                future.set_exception(self._dead)
                return future
            self._pending.append((future, (method, args)))
            conn, generation = self.conn, self._generation
        # Sent outside the lock: a send can block until the worker reads, and the worker
        # reads only once the reader (which needs the lock) has taken its last answer.
        with self._send_lock:
            if generation == self._generation:  # else a restart has sent it already
                with contextlib.suppress(OSError):  # a dead worker: the reader restarts it
                    _send(conn, (method, args))
        return future

    def _fail_pending(self, error: WorkerError) -> None:
        self._dead = error
        while self._pending:
            self._pending.popleft()[0].set_exception(error)

    def _read(self) -> None:
        while True:
            try:
                status, result = _recv(self.conn)
            except (EOFError, OSError):
                if not self._recover():
                    return
                continue
            with self._lock:
                future, _ = self._pending.popleft()
            if status == "ok":
                future.set_result(result)
            else:
                future.set_exception(WorkerError(f"the rollout worker failed:\n{result}"))

    def _recover(self) -> bool:
        """After the worker's pipe closed: start a new worker and resend what was pending;
        False when closing or out of restarts (pending calls then fail)."""
        with self._lock:
            self.process.join(timeout=10)
            code = self.process.exitcode
            if self._closing or self.restarts >= self.max_restarts:
                why = "closed" if self._closing else f"exited (code {code}) after " \
                    f"{self.restarts} restart(s)"
                self._fail_pending(WorkerError(f"the rollout worker {why}"))
                return False
            self.restarts += 1
            print(f"warl: the rollout worker exited (code {code}); restarting it "
                  f"({self.restarts}/{self.max_restarts}) and collecting its "
                  f"{len(self._pending)} pending call(s) again", file=sys.stderr)
            try:
                self._start()
            except WorkerError as exc:
                self._fail_pending(exc)
                return False
            with self._send_lock:
                self._generation += 1
                for _, message in self._pending:
                    _send(self.conn, message)
            return True

    def _stop(self) -> None:
        with self._send_lock, contextlib.suppress(OSError):  # the worker may be gone already
            _send(self.conn, None)
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.conn.close()

    def close(self) -> None:
        self._closing = True
        self._stop()


class ProcessPool:
    """``workers`` `ProcessBackend`s; `submit` hands calls to them in turn."""

    def __init__(self, recipe: CollectorRecipe, workers: int = 1) -> None:
        self.backends: list[ProcessBackend] = []
        try:
            for _ in range(workers):
                self.backends.append(ProcessBackend(recipe))
        except BaseException:
            self.close()
            raise
        self.workers = workers
        self._turn = 0

    @property
    def restarts(self) -> int:
        return sum(b.restarts for b in self.backends)

    def submit(self, method: str, *args: Any) -> Future[Any]:
        backend = self.backends[self._turn % len(self.backends)]
        self._turn += 1
        return backend.submit(method, *args)

    def close(self) -> None:
        for backend in self.backends:
            backend.close()
