"""The serving side's on-disk outbox: every executed env step, kept until the learner says it
is durable on its side.

Each step is a row keyed by (stream, epoch, seq): a stream is one learner-side env (the
training env, an evaluation env: each has its own env on the serving side), ``epoch`` counts
the serving side's starts (stored beside the outbox, so numbering survives restarts) and
``seq`` counts the stream's steps in that epoch. A step is written (SQLite, write-ahead
log) before its result is sent, so a serving side killed mid-chunk still holds every step it
executed; the learner acknowledges
(epoch, seq) once those steps are in its replay and covered by a checkpoint, and only then
are they dropped. After a reconnect, `pending` returns what the learner has not acknowledged,
in order, and the learner keeps only what it has not seen (de-duplication is by (epoch, seq)).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

EPOCH_FILE = "epoch"
DB_FILE = "outbox.sqlite"


def next_epoch(directory: Path) -> int:
    """Increment and return the epoch stored in ``directory`` (1 on the first start); the
    write is atomic, so a kill during it leaves the previous value."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / EPOCH_FILE
    try:
        epoch = int(path.read_text().strip()) + 1
    except (OSError, ValueError):
        epoch = 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{epoch}\n")
    os.replace(tmp, path)
    return epoch


class Outbox:
    """Unacknowledged steps of every epoch, as opaque frames (the wire encoding of a step)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.directory / DB_FILE, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a killed process (the OS holds the log); FULL would also survive a
        # power cut, at an fsync per step.
        self._db.execute("PRAGMA synchronous=NORMAL")
        # SQLite's own checkpoint runs inside whichever write crosses the threshold: with
        # camera frames (~150 kB a step) that was every ~30 steps and took 10-15 ms, the whole
        # tail of a chunk's round trip. A thread of its own checkpoints instead, on its own
        # connection (sqlite releases the GIL while it copies), so a step only appends.
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        self._db.execute("CREATE TABLE IF NOT EXISTS steps (stream TEXT, epoch INTEGER, "
                         "seq INTEGER, frame BLOB, PRIMARY KEY (stream, epoch, seq))")
        # How many rows of each kind were ever written (acknowledged ones included): the
        # serving side's own count, to compare with what the learner stored.
        self._db.execute("CREATE TABLE IF NOT EXISTS written (stream TEXT, epoch INTEGER, "
                         "kind TEXT, n INTEGER, PRIMARY KEY (stream, epoch, kind))")
        self._closed = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, daemon=True,
                                              name="outbox-checkpoint")
        self._checkpointer.start()

    def _checkpoint_loop(self, period: float = 0.25) -> None:
        db = sqlite3.connect(self.directory / DB_FILE, isolation_level=None)
        try:
            while not self._closed.wait(period):
                # PASSIVE never waits for the writer; what it could not copy, the next does.
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the directory went away under a closing server: nothing left to keep
        finally:
            db.close()

    def put(self, stream: str, epoch: int, seq: int, frame: bytes,
            kind: str | None = None) -> None:
        """Store a row; ``kind`` counts it as a new row of that kind (a rewrite passes
        none). The row and its count are one transaction."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?)",
                             (stream, epoch, seq, frame))
            if kind is not None:
                self._db.execute("INSERT INTO written VALUES (?, ?, ?, 1) ON CONFLICT "
                                 "(stream, epoch, kind) DO UPDATE SET n = n + 1",
                                 (stream, epoch, kind))

    def written(self, stream: str, kind: str = "step") -> int:
        """Rows of ``kind`` ever written for ``stream``, over every epoch."""
        with self._lock:
            row = self._db.execute("SELECT SUM(n) FROM written WHERE stream = ? AND kind = ?",
                                   (stream, kind)).fetchone()
        return int(row[0] or 0)

    def ack(self, stream: str, epoch: int, seq: int) -> int:
        """Drop every step of ``stream`` up to (epoch, seq) inclusive, earlier epochs
        included; returns how many were dropped."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM steps WHERE stream = ? AND (epoch < ? OR (epoch = ? AND seq <= ?))",
                (stream, epoch, epoch, seq))
            return cursor.rowcount

    def pending(self, stream: str, after: tuple[int, int] = (0, -1)
                ) -> Iterator[tuple[int, int, bytes]]:
        """(epoch, seq, frame) of every step of ``stream`` after ``after`` = (epoch, seq), in
        order."""
        epoch, seq = after
        with self._lock:
            rows = self._db.execute(
                "SELECT epoch, seq, frame FROM steps WHERE stream = ? AND (epoch > ? OR "
                "(epoch = ? AND seq > ?)) ORDER BY epoch, seq",
                (stream, epoch, epoch, seq)).fetchall()
        yield from rows

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM steps").fetchone()[0])

    def close(self) -> None:
        self._closed.set()
        self._checkpointer.join()
        with self._lock:
            self._db.close()
