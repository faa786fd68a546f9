"""Stand-in for dbt's cross-database macros (`dbt.safe_cast`, ...) when sqlfluff renders models (DuckDB SQL)."""


def safe_cast(field, type_):
    return f"try_cast({field} as {type_})"


def concat(fields):
    return f"concat({', '.join(fields)})"


def type_int():
    return "integer"


def type_numeric():
    return "numeric(28,6)"


def type_timestamp():
    return "timestamp"
