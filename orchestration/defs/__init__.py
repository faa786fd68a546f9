"""Definitions by stage of the pipeline; each sub-module exports its own `defs`."""
