"""Shared test fixtures: small simulated worlds and a way to run the pipeline against them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from orchestration.paths import DBT_PROJECT_DIR

# A fixed last published day keeps every simulated world, and so every assertion, reproducible.
WORLD_END_DATE = date(2026, 6, 30)
SMALL_WORLD_PEOPLE = 400


# `make test` runs two pytest-xdist workers. Test modules that use one of these expensive session
# fixtures run on the same worker, so each world is built once; any other module is its own unit.
# (pytest-xdist's own `--dist loadgroup` marks do not reach the test ids under pytest 9.)
SHARED_FIXTURE_GROUPS = {
    "nightly_runs": "nightly",
    "bad_rows_run": "nightly",
    "marts_world": "marts_world",
    "postgres_server": "postgres",
}
# The two end-to-end tests each run the whole pipeline, training included, in subprocesses. They share
# one worker, one after the other, which keeps the two workers' loads even (clean-clone CI, 2026-11-23:
# workers done at 1,292 s and 1,270 s). It does not make them cheaper: side by side they took 492 s and
# 483 s, one after the other 515 s and 506 s, next to the nightly scopes; the two cores are the limit.
MODULE_GROUPS = {
    "tests/e2e/test_make_demo.py": "e2e",
    "tests/e2e/test_ui.py": "e2e",
}
# Seconds each of the heaviest scopes (a group above, or a module) took in a clean-clone CI run on the
# two-core machine (2026-11-23; "e2e" is its two modules' sum when they ran beside light tests). They start first, heaviest first, and a worker never queues one behind
# another: xdist hands a worker its next scope before the last test of the current one ends, so one
# worker once idled for 520 s at the end while the other still had two heavy scopes to run.
SCOPE_SECONDS = {
    "nightly": 720,
    "e2e": 500,
    "marts_world": 470,
    "tests/unit/dbt_models/test_staging.py": 100,
}
TESTS_DIR = Path(__file__).resolve().parent


def module_groups() -> dict[str, str]:
    """Test module (path as in the test ids) -> its group in MODULE_GROUPS, else the group of the first
    shared fixture its text names."""
    groups = dict(MODULE_GROUPS)
    for module in sorted(TESTS_DIR.rglob("test_*.py")):
        text = module.read_text(encoding="utf-8")
        group = next((name for fixture, name in SHARED_FIXTURE_GROUPS.items() if fixture in text), None)
        if group:
            groups.setdefault(module.relative_to(TESTS_DIR.parent).as_posix(), group)
    return groups


def scope_of(nodeid: str, groups: dict[str, str]) -> str:
    module = nodeid.split("::")[0]
    return groups.get(module, module)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each scope's tests together, the heaviest scopes first, the rest in collection order."""
    groups = module_groups()
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(scope_of(item.nodeid, groups), index)
    order = {id(item): index for index, item in enumerate(items)}

    def key(item: pytest.Item) -> tuple[int, int, int]:
        scope = scope_of(item.nodeid, groups)
        return (-SCOPE_SECONDS.get(scope, 0), first_seen[scope], order[id(item)])

    items.sort(key=key)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from xdist.scheduler import LoadScopeScheduling

    groups = module_groups()
    # the queue keeps the collection's order (above) instead of ordering scopes by their test count
    config.option.loadscopereorder = False

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, groups)

        def _assign_work_unit(self, node) -> None:
            # a worker with a heavy scope still pending gets the next light scope, if any is left
            pending = self.assigned_work.get(node, {})
            if any(SCOPE_SECONDS.get(scope) and not all(done.values()) for scope, done in pending.items()):
                light = next((scope for scope in self.workqueue if scope not in SCOPE_SECONDS), None)
                if light is not None:
                    self.workqueue.move_to_end(light, last=False)
            super()._assign_work_unit(node)

    return SharedFixtureScheduling(config, log)


def pytest_sessionstart(session: pytest.Session) -> None:
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        raise pytest.UsageError(
            f"{manifest} is missing: run the tests through `make test` (or `make manifest`)."
        )


@pytest.fixture(scope="session")
def small_world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with ~400 simulated people and a year of history; copy it before changing it."""
    import simulator

    data_dir = tmp_path_factory.mktemp("world-template")
    simulator.generate(
        data_dir, n_people=SMALL_WORLD_PEOPLE, seed=7, end_date=WORLD_END_DATE, history_days=365
    )
    return data_dir


@pytest.fixture
def small_world(small_world_template: Path, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(small_world_template, data_dir)
    return data_dir


def _postgres_bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
    on_path = shutil.which("initdb")
    if not found and not on_path:
        pytest.fail(
            "no PostgreSQL server binaries (initdb): `make test` installs the Debian package `postgresql`"
        )
    return found[-1].parent if found else Path(on_path).parent


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for this test session, on a free loopback port; yields its base URL."""
    bin_dir = _postgres_bin_dir()
    # PostgreSQL refuses to run as root: as root, run it as the `postgres` OS user in a directory it owns.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="klantbeeld-pg-"))
    if as_user:
        shutil.chown(base, user="postgres", group="postgres")
    data = base / "data"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=60)

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c timezone=UTC"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A new, empty database on the session's PostgreSQL server; yields its SQLAlchemy URL."""
    import sqlalchemy as sa

    name = "test_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    engine = sa.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}"'))
        conn.execute(sa.text(f'create database "{name}"'))
    engine.dispose()
    return f"{postgres_server}/{name}"
