"""Two ranks through mpiexec: the collectives against NumPy, DistributedDataParallel against one
process on the global batch, a collective timeout and a raising rank ending the job. Two launches,
started together (each costs seconds of start-up); every test asserts on what the ranks wrote or printed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mpi_launch import Launch

pytest.importorskip("mpi4py")

HERE = Path(__file__).parent
WORLD = 2


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("ranks")
    main = Launch(HERE / "two_rank_worker.py", str(out), timeout=240)  # ends by a timeout on purpose
    failing = Launch(HERE / "failing_worker.py", timeout=120)
    finished = {"main": main.result(), "raise": failing.result()}
    written = [out / f"rank{r}.json" for r in range(WORLD)]
    assert all(f.exists() for f in written), finished["main"].stdout + finished["main"].stderr
    finished["ranks"] = [json.loads(f.read_text()) for f in written]
    return finished


@pytest.fixture(scope="module")
def ranks(jobs: dict) -> list[dict]:
    return jobs["ranks"]


def test_process_group(ranks: list[dict]) -> None:
    assert [(r["rank"], r["world_size"], r["backend"]) for r in ranks] == [(0, 2, "mpi"), (1, 2, "mpi")]


def test_collectives_against_numpy(ranks: list[dict]) -> None:
    xs = [(np.arange(12.0).reshape(3, 4) * (r + 1) - 3 * r)[:, ::2] for r in range(WORLD)]
    want = {
        "all_reduce_SUM": xs[0] + xs[1],
        "all_reduce_AVG": (xs[0] + xs[1]) / 2,
        "all_reduce_MAX": np.maximum(xs[0], xs[1]),
        "all_reduce_MIN": np.minimum(xs[0], xs[1]),
        "all_reduce_PRODUCT": xs[0] * xs[1],
        "all_gather": [[r, 2.0 * r, -1.0] for r in range(WORLD)],
    }
    for r, got in enumerate(ranks):
        c = got["collectives"]
        for name, value in want.items():
            np.testing.assert_array_equal(c[name], value, err_msg=f"{name} on rank {r}")
        assert c["all_reduce_int64"] == [(np.array([1, 2, 3]) * (2 + 3)).tolist(), "int64"]
        assert c["all_reduce_bfloat16"] == [[1.0, 3.0, 5.0], "bfloat16"]  # 0.5+0.5, 1.5+1.5, 2+3: exact in bf16
        assert c["async_is_work"] and c["async_wait"] and c["async_completed"]
        assert c["broadcast"] == [np.full((2, 2), 11.0).tolist(), "float32"]  # rank 1's value
        inputs = [[np.array([10.0 * j + q, -q]) for j in range(WORLD)] for q in range(WORLD)]  # inputs[rank][j]
        np.testing.assert_array_equal(c["reduce_scatter_SUM"], inputs[0][r] + inputs[1][r])
        np.testing.assert_array_equal(c["reduce_scatter_MAX"], np.maximum(inputs[0][r], inputs[1][r]))
        assert c["barrier"]


@pytest.mark.parametrize("case", ["sgd_one_bucket", "sgd_tiny_buckets", "adam_tiny_buckets"])
def test_ddp_equals_one_process_on_the_global_batch(ranks: list[dict], case: str) -> None:
    first, second = ranks[0][case], ranks[1][case]
    for a, b in zip(first["at_wrap"], second["at_wrap"], strict=True):  # rank 0's start, broadcast
        np.testing.assert_array_equal(a, b)
    for a, b, ref in zip(first["weights"], second["weights"], first["reference"], strict=True):
        np.testing.assert_array_equal(a, b)  # the replicas agree exactly
        np.testing.assert_allclose(a, ref, rtol=0, atol=1e-12)
    assert first["buckets"] == (1 if case == "sgd_one_bucket" else 4)
    assert first["state_dict_keys"][0] == "module.0.weight"


def test_tiny_buckets_equal_one_bucket(ranks: list[dict]) -> None:
    for a, b in zip(ranks[0]["sgd_one_bucket"]["weights"], ranks[0]["sgd_tiny_buckets"]["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_no_sync_accumulates_the_large_batch(ranks: list[dict]) -> None:
    local = [r["no_sync"]["local"] for r in ranks]
    assert not np.array_equal(local[0][0], local[1][0])  # inside no_sync nothing is averaged
    for r in ranks:
        for got, ref in zip(r["no_sync"]["grads"], ranks[0]["no_sync"]["reference"], strict=True):
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_find_unused_parameters(ranks: list[dict]) -> None:
    for r in ranks:
        unused = r["unused"]
        assert unused["grads"]["never_used.weight"] is None and unused["reference"]["never_used.weight"] is None
        for name, ref in unused["reference"].items():
            if ref is not None:
                np.testing.assert_allclose(unused["grads"][name], ref, rtol=0, atol=1e-12, err_msg=name)
        assert "Expected to have finished reduction in the prior iteration" in unused["error"]
        assert "fc3.weight" in unused["error"] and "find_unused_parameters=True" in unused["error"]


def test_buffers_come_from_rank_0(ranks: list[dict]) -> None:
    for r in ranks:
        assert r["buffers"] == {"at_wrap": [1.0, 0.0], "after_forward": [50.0, 50.0]}


def test_a_rank_that_raises_ends_the_job(jobs: dict) -> None:
    job = jobs["raise"]
    assert job.returncode != 0 and job.seconds < 60
    assert "glassgrad.distributed: rank 1 raised ValueError: rank 1 fails on purpose" in job.stderr
    assert "was not stopped" not in job.stdout


def test_a_collective_timeout_raises_and_ends_the_job(jobs: dict) -> None:
    job = jobs["main"]  # after writing its results, rank 0 all-reduces alone with a 1 s timeout
    assert job.returncode != 0 and job.seconds < 150  # rank 1 was sleeping 300 s
    assert (
        "glassgrad.distributed: rank 0 raised RuntimeError: glassgrad.distributed.all_reduce: timed out after 1 s"
        in job.stderr
    )
    assert "was not stopped" not in job.stdout
