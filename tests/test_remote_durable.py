"""Nothing lost, nothing twice, over a real link: the serving side killed (kill -9) and
restarted at random moments during a training run, the learner killed once and resumed;
steps are counted on both sides."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time

from tests.conftest import SMALL_TASK, SMALL_WA
from tests.test_training import TINY
from warl.core.remote.wire import decode
from warl.core.training.durable import episodes_from_rows

TOKEN = "d" * 32
HORIZON = 500  # MetaWorld's episode length, the longest episode of SMALL_TASK


def _executed(db: sqlite3.Connection) -> int:
    """The train steps the serving side has executed, from its outbox's own count."""
    row = db.execute("SELECT SUM(n) FROM written WHERE stream = 'train' AND "
                     "kind = 'step'").fetchone()
    return int(row[0] or 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _python(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "warl.core.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def test_episodes_are_rebuilt_from_outbox_rows_in_chunks():
    rows = [{"type": "step", "epoch": 1, "seq": 0}]  # before a reset: already acknowledged
    rows += [{"type": "reset", "epoch": 1, "seq": 1, "obs": {"state": [0.0]},
              "instruction": "go"}]
    rows += [{"type": "step", "epoch": 1, "seq": 2 + i, "action": [float(i)], "reward": 0.0,
              "intervened": i == 3, "terminated": i == 4, "success": i == 4,
              "obs": {"state": [float(i + 1)]}} for i in range(5)]
    seen = []
    episodes = episodes_from_rows(rows, "train", 2, lambda obs, text: seen.append(
        (obs["state"][0], text)) or {"x": obs["state"]})
    assert len(episodes) == 1
    record = episodes[0]
    assert [s.steps for s in record.steps] == [2, 2, 1] and record.success
    assert record.steps[1].intervened.tolist() == [False, True]
    assert seen == [(0.0, "go"), (2.0, "go"), (4.0, "go"), (5.0, "go")]  # chunk boundaries
    assert record.link == ("train", 1, 6) and record.steps[-1].terminated


def test_serving_side_killed_20_times_and_learner_once_nothing_lost(small_wa, tmp_path):
    token = tmp_path / "token"
    token.write_text(TOKEN)
    port, state = _free_port(), tmp_path / "serve"
    serve_args = ["serve", SMALL_TASK, "--token-file", str(token), "--port", str(port),
                  "--state-dir", str(state), "--heartbeat", "1"]
    server = _python(*serve_args)
    run = tmp_path / "run"
    sets = [f"--set={k}={json.dumps(v)}" for k, v in TINY.items()]
    sets += [f"--set=wa.{k}={json.dumps(v)}" for k, v in SMALL_WA.items()]
    # The learner progresses only while a server is up: enough steps for 20 restarts.
    train = {"minutes": 0, "env_steps": 9000, "demos": 2, "baseline": False,
             "eval_trials": 0, "final_trials": 2, "videos": 0, "checkpoint_every": 2000,
             "torch_threads": 1}
    sets += [f"--set=train.{k}={json.dumps(v)}" for k, v in train.items()]
    sets += [f"--set=env.url=ws://127.0.0.1:{port}", f"--set=env.token_file={token}"]
    learner = _python("train", "halo-wa", "--env", "remote/local", "--out", str(run),
                      "--quiet", *sets)
    rng = random.Random(0)
    kills, learner_killed = 0, False
    deadline = time.time() + 900

    def executed_so_far() -> int:
        """The train steps the serving side has run (0 while its outbox is unreadable)."""
        try:
            with sqlite3.connect(state / "outbox.sqlite", timeout=1) as db:
                return _executed(db)
        except sqlite3.Error:
            return 0

    def serving(epoch: int) -> bool:
        """Whether the server of ``epoch`` has started (it writes its epoch first)."""
        try:
            return int((state / "epoch").read_text()) >= epoch
        except (OSError, ValueError):
            return False

    try:
        while learner.poll() is None and time.time() < deadline:
            while not serving(kills + 1) and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.2, 1.0))  # a random moment of its serving
            saved = run / "checkpoint" / "state.json"
            # The learner dies once a whole episode lies past its checkpoint, so that its
            # resume has something to take back from the outbox.
            at = json.loads(saved.read_text())["env_steps"] \
                if not learner_killed and saved.is_file() else 0
            if not learner_killed and at >= 2000 and executed_so_far() >= at + HORIZON + 100:
                learner.send_signal(signal.SIGKILL)
                learner.wait()
                learner_killed = True
                learner = _python("train", "--resume", str(run), "--quiet")
                continue
            if kills < 20:
                server.send_signal(signal.SIGKILL)
                server.wait()
                kills += 1
                server = _python(*serve_args)
        assert learner.wait(timeout=max(1, deadline - time.time())) == 0, \
            learner.stderr.read() if learner.stderr else ""
    finally:
        for proc in (learner, server):
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
    assert learner_killed and kills == 20
    with sqlite3.connect(state / "outbox.sqlite") as db:
        executed = _executed(db)
        left = [decode(f) for (f,) in db.execute(
            "SELECT frame FROM steps WHERE stream = 'train' ORDER BY epoch, seq")]
    counters = json.loads((run / "state.json").read_text())
    watermark = tuple(counters["links"]["train"])
    pending = [r for r in left if r["type"] == "step" and (r["epoch"], r["seq"]) > watermark]
    # Every step the serving side executed is in the learner's replay (counted by its
    # counters) or still waiting in the outbox after the watermark: none lost, none twice.
    assert counters["env_steps"] + len(pending) == executed
    # What the killed learner had collected after its last checkpoint came back from the
    # outbox on resume.
    assert counters["refilled_steps"] > 0
