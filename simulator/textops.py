"""Vectorised string helpers on numpy StringDType arrays (no Python loop over rows)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

S = np.dtypes.StringDType()


def arrow_strings(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """An Arrow string array from a numpy string array. pyarrow < 26 (what mlflow 3.17 allows)
    cannot read numpy's StringDType directly: such arrays pass through Python objects."""
    if values.dtype.kind == "T":
        values = values.astype(object)
    return pa.array(values, type=pa.string(), mask=mask)


def sarr(values: object, n: int | None = None) -> np.ndarray:
    """A StringDType array from anything (a scalar is broadcast to n)."""
    if n is not None and np.ndim(values) == 0:
        return np.full(n, values, dtype=S)
    arr = np.asarray(values)
    return arr.astype(S, copy=False)


def cat(*parts: object) -> np.ndarray:
    """Element-wise concatenation of string arrays and scalars."""
    out = None
    for p in parts:
        p = np.asarray(p).astype(S, copy=False) if not isinstance(p, str) else p
        out = p if out is None else np.strings.add(out, p)
    return np.asarray(out).astype(S, copy=False)


def zfill_int(values: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(np.asarray(values, dtype=np.int64).astype(S, copy=False), width)


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return cat(prefix, zfill_int(numbers, width))


def pick(options: tuple[str, ...] | list[str], idx: np.ndarray) -> np.ndarray:
    return np.asarray(options, dtype=S)[idx]


def where(mask: np.ndarray, a: object, b: object) -> np.ndarray:
    return np.where(mask, np.asarray(a).astype(S, copy=False), np.asarray(b).astype(S, copy=False)).astype(
        S, copy=False
    )


def typo(rng: np.random.Generator, s: np.ndarray) -> np.ndarray:
    """One character dropped, swapped with its neighbour or replaced, at a random position."""
    n = s.size
    length = np.strings.str_len(s)
    k = (rng.random(n) * np.maximum(length - 1, 1)).astype(np.int64)
    kind = rng.integers(0, 3, n)
    head = np.strings.slice(s, 0, k)
    c1 = np.strings.slice(s, k, k + 1)
    c2 = np.strings.slice(s, k + 1, k + 2)
    tail2 = np.strings.slice(s, k + 2, None)
    tail1 = np.strings.slice(s, k + 1, None)
    letter = pick(tuple("aeiounrstlkmd"), rng.integers(0, 13, n))
    dropped = cat(head, tail1)
    swapped = cat(head, c2, c1, tail2)
    replaced = cat(head, letter, tail1)
    out = np.where(kind == 0, dropped, np.where(kind == 1, swapped, replaced)).astype(S, copy=False)
    return np.where(length > 2, out, s).astype(S, copy=False)


def compact_lower(s: np.ndarray) -> np.ndarray:
    """Lower case without spaces, hyphens or apostrophes (for email local parts and handles)."""
    out = np.strings.lower(s)
    for ch in (" ", "-", "'", "."):
        out = np.strings.replace(out, ch, "")
    return out.astype(S, copy=False)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day from days since 1970-01-01 (H. Hinnant's algorithm, vectorised)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def _render(fields: list[tuple[np.ndarray, int] | str]) -> np.ndarray:
    """Fixed-width text from zero-padded integer fields and literal separators, via a uint32 char matrix."""
    n = next(np.asarray(f[0]).size for f in fields if not isinstance(f, str))
    width = sum(len(f) if isinstance(f, str) else f[1] for f in fields)
    buf = np.empty((n, width), dtype=np.uint32)
    col = 0
    for f in fields:
        if isinstance(f, str):
            for ch in f:
                buf[:, col] = ord(ch)
                col += 1
            continue
        values, w = np.asarray(f[0], dtype=np.int64), f[1]
        for i in range(w):
            buf[:, col + i] = 48 + (values // 10 ** (w - 1 - i)) % 10
        col += w
    return buf.view(f"<U{width}").reshape(n)


def fmt_ts(seconds: np.ndarray) -> np.ndarray:
    """UTC seconds → 'YYYY-MM-DD HH:MM:SS'."""
    s = np.asarray(seconds, dtype=np.int64)
    days, sod = np.divmod(s, 86400)
    y, m, d = _civil(days)
    return _render(
        [
            (y, 4),
            "-",
            (m, 2),
            "-",
            (d, 2),
            " ",
            (sod // 3600, 2),
            ":",
            (sod // 60 % 60, 2),
            ":",
            (sod % 60, 2),
        ]
    )


def fmt_ts_ms_z(millis: np.ndarray) -> np.ndarray:
    """UTC milliseconds → 'YYYY-MM-DDTHH:MM:SS.mmmZ'."""
    ms = np.asarray(millis, dtype=np.int64)
    s, frac = np.divmod(ms, 1000)
    days, sod = np.divmod(s, 86400)
    y, m, d = _civil(days)
    return _render(
        [
            (y, 4),
            "-",
            (m, 2),
            "-",
            (d, 2),
            "T",
            (sod // 3600, 2),
            ":",
            (sod // 60 % 60, 2),
            ":",
            (sod % 60, 2),
            ".",
            (frac, 3),
            "Z",
        ]
    )


def fmt_yyyymmdd(days: np.ndarray) -> np.ndarray:
    y, m, d = _civil(np.asarray(days, dtype=np.int64))
    return _render([(y, 4), (m, 2), (d, 2)])


def fmt_date(days: np.ndarray) -> np.ndarray:
    y, m, d = _civil(np.asarray(days, dtype=np.int64))
    return _render([(y, 4), "-", (m, 2), "-", (d, 2)])


def fmt_money(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64), 2)


def amsterdam_offset_hours(local_seconds: np.ndarray) -> np.ndarray:
    """UTC offset of Europe/Amsterdam (1 or 2) for local wall-clock seconds: CEST between the last
    Sundays of March and October."""
    dt = np.asarray(local_seconds, dtype=np.int64).astype("datetime64[s]")
    year = dt.astype("datetime64[Y]")
    mar31 = (year + np.timedelta64(2, "M")).astype("datetime64[D]") + np.timedelta64(30, "D")
    oct31 = (year + np.timedelta64(9, "M")).astype("datetime64[D]") + np.timedelta64(30, "D")
    # weekday with Monday=0: 1970-01-01 was a Thursday
    last_sun_mar = mar31 - ((mar31.astype(np.int64) + 3 - 6) % 7).astype("timedelta64[D]")
    last_sun_oct = oct31 - ((oct31.astype(np.int64) + 3 - 6) % 7).astype("timedelta64[D]")
    start = last_sun_mar.astype("datetime64[s]") + np.timedelta64(2, "h")
    end = last_sun_oct.astype("datetime64[s]") + np.timedelta64(3, "h")
    return np.where((dt >= start) & (dt < end), 2, 1)


def choose(index: np.ndarray, options: list[np.ndarray]) -> np.ndarray:
    """np.choose for string arrays (np.choose crashes on StringDType)."""
    out = np.asarray(options[0]).astype(S, copy=False)
    for i, opt in enumerate(options[1:], start=1):
        out = np.where(index == i, np.asarray(opt).astype(S, copy=False), out)
    return out.astype(S, copy=False)
