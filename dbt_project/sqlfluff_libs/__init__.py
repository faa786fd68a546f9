"""Stand-ins for dbt's context when sqlfluff renders the models (sqlfluff exposes this package's names).

`var` reads the real vars from dbt_project.yml, so macros that loop over configured rules render as
dbt renders them; `adapter` and `dbt` (the submodules) stand in for dbt's objects.
"""

import datetime as _dt
from pathlib import Path as _Path

import yaml as _yaml

_PROJECT_VARS = _yaml.safe_load((_Path(__file__).parent.parent / "dbt_project.yml").read_text())["vars"]

run_started_at = _dt.datetime(2026, 1, 1, 2, 0, 0)
invocation_id = "00000000-0000-0000-0000-000000000000"


def var(name, default=None):
    return _PROJECT_VARS.get(name, default)
