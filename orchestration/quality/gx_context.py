"""Great Expectations: the suites in `expectations/suites/`, run on data frames we choose.

GX's SQL datasource does not work on DuckDB at this version (STACK.md), so every suite validates a
pandas frame: a new batch of a raw table, a frame of load statistics, or the columns / aggregates of a
mart. The context is ephemeral (nothing is written into the repository at run time) but uses the
project's stores: suites from `expectations/suites/`, validation results and Data Docs under
`<data dir>/quality/`.
"""

from __future__ import annotations

import json
import os
import re
import string
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from orchestration.paths import DATA_DOCS_PAGE, EXPECTATIONS_DIR

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# GX is imported inside the functions that use it: importing it costs ~5 s, and every process that
# loads the Dagster definitions (webserver, daemon, each run) would pay it, validating or not.

DATASOURCE = "klantbeeld"
BATCH_DEFINITION = "frame"
SEVERITIES = ("critical", "warning")
UNEXPECTED_SAMPLE_ROWS = 10


@cache
def quality_context(data_dir: Path) -> Any:
    """The GX context of `expectations/great_expectations.yml` writing its results under `data_dir`."""
    text = (EXPECTATIONS_DIR / "great_expectations.yml").read_text(encoding="utf-8")
    config = yaml.safe_load(string.Template(text).safe_substitute(KLANTBEELD_DATA_DIR=str(data_dir)))
    config.pop("fluent_datasources", None)  # frames are registered in memory, per run
    backends = [store["store_backend"] for store in config["stores"].values()]
    backends += [site["store_backend"] for site in config["data_docs_sites"].values()]
    for backend in backends:
        if not Path(backend["base_directory"]).is_absolute():
            backend["base_directory"] = str(EXPECTATIONS_DIR / backend["base_directory"])
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig

    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(**config))
    context.data_sources.add_pandas(DATASOURCE)
    return context


_SUITE_ID_NAMESPACE = uuid.UUID("5e0c1f4e-9a57-4c83-b2a3-6b1d1c5e7a10")


def canonical_suite_json(document: Mapping[str, Any]) -> str:
    """A suite as the GX store writes it, with ids derived from the suite name and each rule.

    GX re-saves a suite it validates; a file already in this form is re-saved byte for byte, so a
    run never changes a file in the repository. Authoring shortcuts are accepted: `severity` and
    `description` inside `meta` move to GX's own fields.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_suite import expectationSuiteSchema
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    name = document["name"]
    configurations = []
    for expectation in document.get("expectations", []):
        meta = dict(expectation.get("meta") or {})
        severity = expectation.get("severity") or meta.pop("severity", "critical")
        description = expectation.get("description") or meta.pop("description", None)
        meta.pop("severity", None)
        meta.pop("description", None)
        configurations.append(
            ExpectationConfiguration(
                type=expectation["type"],
                kwargs=dict(expectation["kwargs"]),
                meta=meta or None,
                severity=severity,
                description=description,
                notes=expectation.get("notes"),
            ).to_domain_obj()
        )
    suite = gx.ExpectationSuite(name=name, expectations=configurations, meta=dict(document.get("meta") or {}))
    suite.id = str(uuid.uuid5(_SUITE_ID_NAMESPACE, name))
    for position, expectation in enumerate(suite.expectations):
        rule = (expectation.meta or {}).get("rule") or str(position)
        expectation.id = str(uuid.uuid5(_SUITE_ID_NAMESPACE, f"{name}/{rule}"))
    serialized = json.loads(expectationSuiteSchema.dumps(suite.to_json_dict()))
    serialized["notes"] = document.get("notes")  # the store writes it, also when empty
    return json.dumps(serialized, indent=2, sort_keys=True)


def suite_names(prefix: str = "") -> list[str]:
    """The suites in `expectations/suites/` (`raw.pos__receipts`, ...), optionally of one prefix."""
    root = EXPECTATIONS_DIR / "suites"
    names = [".".join(path.relative_to(root).with_suffix("").parts) for path in root.rglob("*.json")]
    return sorted(name for name in names if name.startswith(prefix))


@dataclass
class ExpectationOutcome:
    """One expectation's result on one frame, in the terms a data engineer reads."""

    rule: str  # meta.rule, else `<expectation type>(<column>)`
    expectation_type: str
    column: str | None
    severity: str  # critical: blocks (or quarantines rows); warning: recorded only
    success: bool
    description: str  # what was expected, from the expectation's arguments
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    unexpected_rows: list[dict[str, Any]] = field(default_factory=list)  # index columns + value
    exception: str | None = None


@dataclass
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]
    validation_result_path: Path | None = None

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    def failed(self, severity: str | None = None) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and (severity is None or o.severity == severity)]


def run_suite(
    data_dir: Path,
    suite_name: str,
    frame: pd.DataFrame,
    *,
    parameters: Mapping[str, Any] | None = None,
    index_columns: Sequence[str] = (),
    run_name: str | None = None,
    complete: bool = False,
) -> SuiteOutcome:
    """Validate `frame` against the suite `suite_name` and store the result for Data Docs.

    `index_columns` identify a failing row (e.g. `_source`, `_source_row`); with `complete` every
    failing row is returned (for quarantine), otherwise a sample. `parameters` fill the suite's
    `{"$PARAMETER": name}` values (thresholds computed from history, the reference time).
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = quality_context(data_dir)
    suite = context.suites.get(suite_name)
    datasource = context.data_sources.get(DATASOURCE)
    try:
        asset = datasource.get_asset(suite_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(suite_name)
    try:
        batch_definition = asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    result_format: dict[str, Any] = {
        "result_format": "COMPLETE" if complete else "SUMMARY",
        "partial_unexpected_count": UNEXPECTED_SAMPLE_ROWS,
        "include_unexpected_rows": False,
    }
    if index_columns:
        result_format["unexpected_index_column_names"] = list(index_columns)
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=dict(parameters or {}),
        result_format=result_format,
        run_id=RunIdentifier(run_name=run_name) if run_name else None,
    )
    outcomes = [_outcome(item, complete) for item in result.results]
    return SuiteOutcome(suite_name, len(frame), outcomes, _result_path(data_dir, result))


def _outcome(item: Any, complete: bool) -> ExpectationOutcome:
    config = item.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format")}
    meta = config.meta or {}
    column = kwargs.get("column")
    details = item.result or {}
    # COMPLETE results list every failing row; SUMMARY only a sample, under another name
    rows = details.get("unexpected_index_list") or details.get("partial_unexpected_index_list") or []
    if not complete:
        rows = rows[:UNEXPECTED_SAMPLE_ROWS]
    exception = _exception_message(item.exception_info)
    severity = getattr(config, "severity", None)
    return ExpectationOutcome(
        rule=meta.get("rule") or f"{config.type}({column or ''})",
        expectation_type=config.type,
        column=column,
        severity=str(getattr(severity, "value", severity) or "critical"),
        success=bool(item.success),
        description=getattr(config, "description", None) or describe_kwargs(kwargs),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        observed_value=details.get("observed_value"),
        unexpected_rows=[dict(row) for row in rows],
        exception=exception,
    )


def _exception_message(info: Any) -> str | None:
    """GX nests the exception of a metric under the metric's id: find the first message."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception") and info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        message = _exception_message(value)
        if message:
            return message
    return None


def describe_kwargs(kwargs: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in kwargs.items() if k not in ("column", "condition_parser") and v is not None}
    return ", ".join(f"{key}={value}" for key, value in shown.items())


def _result_path(data_dir: Path, result: Any) -> Path | None:
    """The stored validation result's JSON, for a link in the asset metadata."""
    run_id = result.meta.get("run_id") if result.meta else None
    if run_id is None:
        return None
    folder = data_dir / "quality" / "validations" / Path(*result.suite_name.split("."))
    matches = sorted(folder.glob("**/*.json"), key=lambda path: path.stat().st_mtime)
    return matches[-1] if matches else None


RESULTS_KEPT_DAYS = 30
_REMOTE_ASSET = re.compile(
    r"<script[^>]+src=\"https?://[^\"]*\"[^>]*>\s*</script>|<link[^>]+href=\"https?://[^\"]*\"[^>]*>", re.I
)


def build_data_docs(data_dir: Path, run_name: str | None = None) -> Path:
    """Render the Data Docs and return the page to open (`quality/data_docs/klantbeeld.html`).

    With `run_name` (a nightly run): GX pages only for that run's failed validations (a full GX build
    costs ~20 s and grows with the history); without: GX's whole site, suites included.
    GX's pages load their styles and scripts from CDNs, and its index page is drawn by one of those
    scripts. The network may be closed, so the pages are rewritten to use only GX's local stylesheet,
    and klantbeeld.html lists every validation as plain HTML linking to GX's (server-rendered) pages.
    Results older than RESULTS_KEPT_DAYS are removed first, so the docs do not grow without end.
    """
    _prune_results(data_dir)
    context = quality_context(data_dir)
    if run_name is None:
        context.build_data_docs()
    else:
        store = context.validation_results_store
        keys = [key for key in store.list_keys() if key.run_id.run_name == run_name]
        failed = [key for key in keys if not store.get(key).success]
        if failed:
            context.build_data_docs(resource_identifiers=failed, build_index=False)
    site = data_dir / "quality" / "data_docs"
    site.mkdir(parents=True, exist_ok=True)
    for page in site.rglob("*.html"):
        _make_offline(page, site)
    _write_index(data_dir, site)
    return data_docs_index(data_dir)


def data_docs_index(data_dir: Path) -> Path:
    return data_dir / DATA_DOCS_PAGE


def _prune_results(data_dir: Path) -> None:
    cutoff = time.time() - RESULTS_KEPT_DAYS * 86400
    for folder in ("validations", "data_docs/validations"):
        for path in (data_dir / "quality" / folder).rglob("*"):
            if path.is_file() and path.suffix in (".json", ".html") and path.stat().st_mtime < cutoff:
                path.unlink()


def _make_offline(page: Path, site: Path) -> None:
    text = page.read_text(encoding="utf-8")
    if "https://" not in text:
        return
    local_css = Path(
        os.path.relpath(site / "static" / "styles" / "data_docs_default_styles.css", page.parent)
    )
    text = _REMOTE_ASSET.sub("", text)
    text = text.replace("</head>", f'<link rel="stylesheet" href="{local_css.as_posix()}"></head>', 1)
    page.write_text(text, encoding="utf-8")


def _write_index(data_dir: Path, site: Path) -> None:
    """klantbeeld.html: every stored validation, newest first, with its GX page."""
    rows = []
    for result_file in (data_dir / "quality" / "validations").rglob("*.json"):
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        relative = result_file.relative_to(data_dir / "quality" / "validations").with_suffix(".html")
        page = site / "validations" / relative
        run = (result.get("meta") or {}).get("run_id") or {}
        stats = result.get("statistics") or {}
        rows.append(
            (
                str(run.get("run_time", "")),
                result.get("suite_name", ""),
                bool(result.get("success")),
                int(stats.get("unsuccessful_expectations") or 0),
                int(stats.get("evaluated_expectations") or 0),
                str(run.get("run_name") or ""),
                page.relative_to(site).as_posix() if page.exists() else None,
            )
        )
    rows.sort(reverse=True)
    lines = []
    for when, suite, ok, failed, evaluated, run, link in rows:
        status, css = ("passed", "ok") if ok else ("FAILED", "failed")
        details = f'<a href="{escape(link)}">details</a>' if link else ""
        lines.append(
            f'<tr class="{css}"><td>{escape(when[:19])}</td><td>{escape(suite)}</td><td>{status}</td>'
            f"<td>{failed} of {evaluated}</td><td>{escape(run)}</td><td>{details}</td></tr>"
        )
    body = "\n".join(lines)
    (site / "klantbeeld.html").write_text(
        '<!doctype html><html><head><meta charset="utf-8"><title>klantbeeld data quality</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em}tr.failed td{background:#fde8e8}</style></head><body>"
        "<h1>klantbeeld data quality</h1><p>Validations of the last "
        f"{RESULTS_KEPT_DAYS} days, newest first (run = Dagster run id). "
        'Suites: <a href="index.html">Great Expectations index</a> (needs a network for its scripts).</p>'
        "<table><tr><th>time (UTC)</th><th>suite</th><th>result</th><th>expectations failed</th>"
        f"<th>run</th><th></th></tr>{body}</table></body></html>\n",
        encoding="utf-8",
    )
