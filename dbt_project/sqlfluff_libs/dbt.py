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


def type_string():
    return "varchar"


def type_bigint():
    return "bigint"


def type_float():
    return "float"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    order_by = f" {order_by_clause}" if order_by_clause else ""
    return f"string_agg({measure}, {delimiter_text}{order_by})"


def current_timestamp():
    return "now()"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"{from_date_or_timestamp} + ({interval}) * interval 1 {datepart}"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def safe_divide(numerator, denominator):
    return f"({numerator}) / nullif({denominator}, 0)"


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"
