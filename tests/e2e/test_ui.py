"""`make ui`, then "Materialize all": the Dagster UI loads the code location and runs every asset."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.ingest.contract import load_contract
from orchestration.paths import REPO_ROOT

pytestmark = pytest.mark.integration

WORKSPACE_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message }
    ... on RepositoryLocation { repositories { name jobs { name } schedules { name scheduleState { status } }
      assetNodes { assetKey { path } groupName } } } } } } } }"""

LAUNCH_MUTATION = """mutation Launch($executionParams: ExecutionParams!) { launchRun(executionParams: $executionParams) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on InvalidSubsetError { message }
  ... on RunConfigValidationInvalid { errors { message } } } }"""

RUN_STATUS_QUERY = """query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def dagster_ui(small_world: Path) -> Iterator[int]:
    """`make ui` on a free port with its own data directory; stopped with its whole process group."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "DAGSTER_HOME"}
    }
    env["KLANTBEELD_DATA_DIR"] = str(small_world)
    log = (small_world / "ui.log").open("w")
    process = subprocess.Popen(
        ["make", "ui", f"UI_PORT={port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, (small_world / "ui.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(
                "the Dagster UI did not come up in 120 s:\n" + (small_world / "ui.log").read_text()[-3000:]
            )
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_ui_shows_the_graph_and_materialize_all_succeeds(dagster_ui: int):
    entries = graphql(dagster_ui, WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
    assert [entry["name"] for entry in entries] == ["klantbeeld"]
    location = entries[0]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    (repository,) = location["repositories"]
    assert {"nightly", "ml_training", "ml_scoring"} <= {job["name"] for job in repository["jobs"]}
    schedules = {
        schedule["name"]: schedule["scheduleState"]["status"] for schedule in repository["schedules"]
    }
    assert schedules == {"nightly_at_two": "STOPPED", "ml_training_weekly": "STOPPED"}
    groups = {node["groupName"] for node in repository["assetNodes"]}
    assert {contract.system for contract in load_contract().values()} | {"staging"} <= groups

    # "Materialize all" launches the implicit asset job over every asset; the daemon runs it.
    all_assets = [{"path": node["assetKey"]["path"]} for node in repository["assetNodes"]]
    launched = graphql(
        dagster_ui,
        LAUNCH_MUTATION,
        {
            "executionParams": {
                "selector": {
                    "repositoryLocationName": "klantbeeld",
                    "repositoryName": repository["name"],
                    "jobName": "__ASSET_JOB",
                    "assetSelection": all_assets,
                },
                "runConfigData": {},
            }
        },
        # the launch snapshots the whole job (every asset and check) from the code server: on two
        # busy cores that took longer than 30 s
        timeout=180,
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    # every asset, the weekly model training included, on two cores shared with the other test worker
    deadline = time.monotonic() + 900
    status = None
    while time.monotonic() < deadline:
        status = graphql(dagster_ui, RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]["status"]
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            break
        time.sleep(3)
    assert status == "SUCCESS"
