"""The code location: merge the definitions of every stage under `orchestration/stages/`, apply
project-wide policies once (executor, resources)."""

import importlib
import pkgutil

import dagster as dg

import orchestration.stages
from orchestration.resources import default_resources


def _stage_definitions() -> list[dg.Definitions]:
    # Every sub-module of orchestration.stages exports `defs`: adding a stage needs no edit here.
    modules = pkgutil.iter_modules(orchestration.stages.__path__, prefix="orchestration.stages.")
    return [importlib.import_module(module.name).defs for module in sorted(modules, key=lambda m: m.name)]


defs = dg.Definitions.merge(
    *_stage_definitions(),
    dg.Definitions(
        resources=default_resources(),
        # 2 cores: in-process beats a process per step (20 s against 35-38 s, see STACK.md)
        executor=dg.in_process_executor,
    ),
)
