"""The one `DbtProject`, built once and imported everywhere.

The manifest is prepared by `make manifest` (`dagster-dbt project prepare-and-package`), or by
`prepare_if_dev()` under `dagster dev`; never by running `dbt parse` at import.
"""

from __future__ import annotations

import os

from dagster_dbt import DbtProject

from orchestration.paths import DBT_PROJECT_DIR, data_dir

# The dbt profile reads the warehouse location from this variable; dbt runs in a subprocess that
# inherits the environment, so the default data directory has to be spelled out here.
os.environ.setdefault("KLANTBEELD_DATA_DIR", str(data_dir()))
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# Dagster runs the dbt models in more than one step when a Python asset sits between them (the ML
# scores: features -> scores -> customer_360). A test then runs in the step where all its parents are
# built or upstream ("buildable"), never in an earlier step that selects only one of its parents.
os.environ.setdefault("DBT_INDIRECT_SELECTION", "buildable")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
