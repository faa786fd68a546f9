import subprocess
import sys
import time

import duckdb
import pytest

from orchestration.resources import WarehouseResource, connect_waiting_for_lock

HOLD_LOCK = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def hold_warehouse_lock(path, seconds):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_connection_waits_for_another_process_to_release_the_warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = hold_warehouse_lock(path, 1.5)
    started = time.monotonic()
    conn = connect_waiting_for_lock(str(path), wait_seconds=30)
    conn.close()
    holder.wait()
    assert time.monotonic() - started >= 0.5


def test_connection_gives_up_after_its_wait(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = hold_warehouse_lock(path, 5)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            connect_waiting_for_lock(str(path), wait_seconds=0.3)
    finally:
        holder.kill()


def test_connection_is_closed_when_the_step_fails(tmp_path):
    warehouse = WarehouseResource(database=str(tmp_path / "data" / "warehouse.duckdb"))
    with pytest.raises(RuntimeError), warehouse.get_connection() as conn:
        conn.execute("create table t as select 1 as x")
        raise RuntimeError("step failed")
    with pytest.raises(duckdb.ConnectionException):
        conn.execute("select 1")
    # another process can now write the file
    subprocess.run(
        [sys.executable, "-c", HOLD_LOCK, warehouse.database, "0"], check=True, capture_output=True
    )
