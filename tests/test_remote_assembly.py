"""A remote env assembled like the env it serves: `warl eval` through a real server."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SMALL_TASK, SMALL_WA
from warl.core.cli import main
from warl.core.registry import create_registry
from warl.core.remote.outbox import Outbox, next_epoch
from warl.core.remote.server import EnvServer
from warl.core.remote.serving import ServedEnv


@pytest.fixture
def served_small_task(tmp_path, request):
    """`SMALL_TASK` served on a free port, an env per stream (as `warl serve` does); with
    ``expert`` (indirect parameter) the scripted expert may take over on the serving side."""
    registry = create_registry()
    expert = getattr(request, "param", None) == "expert"
    outbox, epoch = Outbox(tmp_path / "outbox"), next_epoch(tmp_path / "outbox")
    envs = []

    def make_stream(name):
        envs.append(registry.make(SMALL_TASK, kind="env", render_mode="rgb_array"))
        operator = None
        if expert and name == "train":
            from warl.core.demos import scripted_expert
            from warl.core.envs.intervention import DeviationGate, GatedExpert

            operator = GatedExpert(scripted_expert(envs[-1], SMALL_TASK), DeviationGate(0.5))
        return ServedEnv(envs[-1], SMALL_TASK, epoch=epoch, outbox=outbox, stream=name,
                         intervention=operator)

    token = tmp_path / "token"
    token.write_text("s" * 32)
    with EnvServer(make_stream, "s" * 32, port=0, outbox=outbox,
                   env_id=SMALL_TASK).start() as server:
        yield server, token
    for env in envs:
        env.close()


def test_warl_eval_through_the_link_keys_the_wa_model_on_the_served_id(
        served_small_task, small_wa, tmp_path, capsys):
    server, token = served_small_task
    wa = [f"--wa-set={k}={v}" for k, v in SMALL_WA.items()]
    code = main(["eval", "wa-base", "--env", "remote/local", f"--env-set=url={server.url}",
                 f"--env-set=token_file={token}", *wa, "--trials", "3", "--videos", "1",
                 "--quiet", "--json", "--out", str(tmp_path / "run")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["env"] == "remote/local" and summary["trials"] == 3
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    text = json.dumps(config)
    assert config["served_env"] == SMALL_TASK and "s" * 32 not in text  # never the token
    assert list((tmp_path / "run").rglob("*.mp4"))  # frames came through `render`
    assert set(server.streams) == {"train"} and server.streams["train"].steps_executed > 0


def test_a_remote_env_refuses_a_learner_side_gap(served_small_task, tmp_path, capsys):
    server, token = served_small_task
    code = main(["eval", "wa-base", "--env", "remote/local", f"--env-set=url={server.url}",
                 f"--env-set=token_file={token}", "--gap", '{"latency": {"steps": 1}}',
                 "--trials", "1", "--quiet"])
    assert code == 1 and "applied where it runs" in capsys.readouterr().err


@pytest.mark.parametrize("served_small_task", [None, "expert"], indirect=True)
def test_warl_train_halo_wa_through_the_link(served_small_task, small_wa, tmp_path, capsys):
    """The main job's path over a remote env: demonstrations of the served env, asynchronous
    collection through the link, evaluations and the final table; with an operator on the
    serving side, its takeovers reach the learner's replay and intervention-rate curve."""
    from tests.test_training import _train_cli

    server, token = served_small_task
    run = tmp_path / "run"
    args = _train_cli(run, "--set=train.env_steps=400", "--set=train.minutes=0",
                      "--set=train.demos=2", "--set=train.final_trials=2",
                      "--set=train.eval_trials=2", "--set=train.eval_every=200",
                      "--set=train.videos=0", "--json")
    args[args.index(SMALL_TASK)] = "remote/local"
    args += [f"--set=env.url={server.url}", f"--set=env.token_file={token}"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in summary["rows"]] == ["wa-base", "halo-wa"]
    config = json.loads((run / "config.json").read_text())
    assert config["resolved"]["served_env"] == SMALL_TASK
    assert server.streams["train"].steps_executed >= 400
    assert "eval-0" in server.streams  # evaluations on a stream of their own
    from warl.core.training.log import read_csv

    rates = [float(r["intervention_rate"]) for r in read_csv(run / "train.csv")]
    if server.streams["train"].intervention is not None:
        assert max(rates) > 0 and (run / "plots" / "intervention_rate.png").is_file()
    else:
        assert max(rates) == 0
