"""Data-parallel training on MXNet's parameter server, on this machine: 2 workers and 1 server over
127.0.0.1, started and stopped by crepe.distributed.supervisor (every process by its id, the job bounded in time).

One job of tests/distributed_worker.py trains a tiny Crepe for 2 epochs of 3 steps; the tests read
what it left: the weights of rank 0's model directory, each worker's digests after every epoch.
"""
import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from crepe.errors import CheckpointError, UsageError
from tests.helpers import quiet_fit

WORKER = Path(__file__).with_name("distributed_worker.py")
#: Seconds the job may take on a loaded 2-core machine before it is stopped (about 20 s alone).
JOB_TIMEOUT = 150


def run_job(out, *extra):
    """(status, failure, output, processes) of a 2-worker job of tests/distributed_worker.py into ``out``."""
    from crepe.distributed.launch import local_processes
    from crepe.distributed.supervisor import supervise

    processes = local_processes(SimpleNamespace(workers=2, servers=1, port=None, threads=1),
                                [sys.executable, str(WORKER), str(out), *extra])
    log = io.StringIO()
    status, failure = supervise(processes, timeout=JOB_TIMEOUT, out=log)
    return status, failure, log.getvalue(), processes


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    out = tmp_path_factory.mktemp("job")
    status, failure, log, processes = run_job(out)
    assert (status, failure) == (0, None), log[-3000:]
    workers = [json.loads(path.read_text()) | {"pid": int(path.stem.split("-")[1])}
               for path in out.glob("digests-*.json")]
    return SimpleNamespace(out=out, workers=sorted(workers, key=lambda w: w["rank"]), processes=processes)


def rank0_directory(job):
    return job.out / f"pid-{job.workers[0]['pid']}"


def test_supervise_leaves_no_process_of_a_finished_job(job):
    assert all(p.popen.poll() is not None for p in job.processes) and len(job.workers) == 2


def test_fit_two_workers_match_one_process_with_the_global_batch(job):
    import mxnet as mx

    from crepe.settings import TrainSettings
    from crepe.train import fit
    from tests.distributed_worker import SETTINGS, tiny_run

    reference, train_set = tiny_run()
    fit(reference, train_set, None, TrainSettings(**SETTINGS), [])          # 1 process x batch 32
    workers, _ = tiny_run()
    workers.load_parameters(str(rank0_directory(job) / "epoch-0002.params"), ctx=mx.cpu())
    loaded = workers._collect_params_with_prefix()
    for name, param in reference._collect_params_with_prefix().items():
        expected = param.data().asnumpy()
        got = loaded[name].data().asnumpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6, err_msg=name)


def test_fit_workers_hold_identical_weights_after_every_epoch(job):
    first, second = (worker["digests"] for worker in job.workers)
    assert len(first) == 2 and first == second


def test_model_directory_only_rank_0_writes(job):
    written = sorted(path.name for path in job.out.glob("pid-*"))
    assert written == [rank0_directory(job).name] and (rank0_directory(job) / "state.json").is_file()


def test_model_directory_records_the_workers_and_the_global_batch(job):
    config = json.loads((rank0_directory(job) / "config.json").read_text())
    assert config["run"]["kvstore"] == "dist_sync"
    assert config["run"]["distributed"] == {"kvstore": "dist_sync", "workers": 2, "servers": 1, "global_batch": 32,
                                            "worker_batch": 16}


def test_model_directory_resume_with_another_worker_count_names_both(job):
    from tests.distributed_worker import SETTINGS, tiny_run

    net, train_set = tiny_run()
    with pytest.raises(CheckpointError, match="trained on 2 workers and this run has 1"):
        quiet_fit(net, train_set, out_dir=rank0_directory(job), resume=True, **{**SETTINGS, "epochs": 3})


def test_fit_workers_whose_weights_differ_stop_the_job_naming_the_rank(tmp_path):
    status, failure, log, processes = run_job(tmp_path, "diverge")
    assert status == 1 and failure.startswith("worker "), log[-3000:]
    assert "the workers' weights differ after epoch 2: rank 1 disagrees with rank 0" in log, log[-3000:]
    assert not list(tmp_path.glob("digests-*.json"))                # no worker finished its run


def test_fit_callback_stopping_one_worker_mid_epoch_is_refused(monkeypatch):
    from crepe.callbacks import Callback
    from crepe.distributed.worker import Group
    from crepe.train import _notify

    class Impatient(Callback):
        def on_step_end(self, loop, loss_sum, correct):
            loop.stop = True

    loop = SimpleNamespace(stop=False, total_steps=10, group=Group("dist_sync", object(), 1, 2, 1))
    with pytest.raises(ValueError, match="Impatient.on_step_end ended or shortened the run of worker 1 alone"):
        _notify(loop, [Impatient()], "on_step_end", None, None)


def test_fit_stop_at_an_epoch_end_on_one_worker_stops_every_worker(monkeypatch):
    import numpy as np

    from crepe.distributed.worker import Group, anyone

    group = Group("dist_sync", object(), 0, 2, 1)
    monkeypatch.setattr("crepe.distributed.worker.gather", lambda group, row: np.array([row, [0, 0, 0, 1]], np.float32))
    assert anyone(group, False) is True                             # rank 1 asked to stop: rank 0 stops too


def test_fit_training_set_smaller_than_the_global_batch_is_refused(monkeypatch):
    from crepe.distributed.worker import Group
    from crepe.settings import TrainSettings
    from crepe.train import _start
    from tests.distributed_worker import tiny_run

    monkeypatch.setattr("crepe.distributed.worker.join", lambda name: Group(name, object(), 0, 2, 1))
    net, train_set = tiny_run()
    with pytest.raises(UsageError, match="the training set has 256 rows, fewer than the global batch of 512"):
        _start(net, train_set, None, TrainSettings(kvstore="dist_sync", batch_size=512))


def test_join_outside_a_launched_job_says_how_to_launch(monkeypatch):
    from crepe.distributed.worker import ENVIRONMENT, join

    for key in ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(UsageError, match="python -m crepe launch --workers N"):
        join("dist_sync")


def test_fit_time_budget_is_refused_for_distributed_runs(monkeypatch):
    from crepe.distributed.worker import Group
    from crepe.settings import TrainSettings
    from crepe.train import _start
    from tests.distributed_worker import tiny_run

    monkeypatch.setattr("crepe.distributed.worker.join", lambda name: Group(name, object(), 0, 2, 1))
    net, train_set = tiny_run()
    with pytest.raises(ValueError, match="time budget"):
        _start(net, train_set, None, TrainSettings(kvstore="dist_sync", time_budget=5))
