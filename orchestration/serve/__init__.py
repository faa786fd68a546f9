"""Plain serving code: which dbt relations are published (declared in the models' `meta`) and how they
are copied into the read-only files BI tools query (docs/serving.md)."""
