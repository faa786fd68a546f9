"""The pipeline by stage (ingest, transform, ...); each sub-module exports its own `defs`."""
