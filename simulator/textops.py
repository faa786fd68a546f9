"""Vectorised string helpers on numpy StringDType arrays (no Python loop over rows)."""

from __future__ import annotations

import numpy as np

S = np.dtypes.StringDType()


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


def _fits(values: np.ndarray, width: int) -> bool:
    """All values in [0, 10**width): zero-padding is then plain fixed-width rendering."""
    return values.size == 0 or (int(values.min()) >= 0 and int(values.max()) < 10**width)


def zfill_int(values: np.ndarray, width: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    if v.ndim == 1 and v.size and width <= 18 and _fits(v, width):
        return _render([(v, width)])
    return np.strings.zfill(v.astype(S, copy=False), width)


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    v = np.asarray(numbers, dtype=np.int64)
    if v.ndim == 1 and v.size and width <= 18 and prefix.isascii() and _fits(v, width):
        return _render([prefix, (v, width)])
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


# "000".."9999" as raw fixed-width byte items, indexed by value
_DIGITS = {
    w: np.array([f"{i:0{w}d}" for i in range(10**w)], dtype=f"S{w}").view(f"V{w}") for w in (1, 2, 3, 4)
}


def _render(fields: list[tuple[np.ndarray, int] | str]) -> np.ndarray:
    """Fixed-width ASCII text from zero-padded integer fields (the last `width` digits of the value, as
    floor division gives them) and literal separators: a byte matrix holding the literals, digit groups
    of up to 4 copied in from lookup tables through a structured view (no Python loop over rows)."""
    n = next(np.asarray(f[0]).size for f in fields if not isinstance(f, str))
    width = sum(len(f) if isinstance(f, str) else f[1] for f in fields)
    if n == 0:
        return np.empty(0, dtype=S)
    template = bytearray(width)
    groups: list[tuple[int, int, int]] = []  # (offset, digits, field index), right to left per field
    col = 0
    for i, f in enumerate(fields):
        if isinstance(f, str):
            template[col : col + len(f)] = f.encode("ascii")
            col += len(f)
            continue
        end = col + f[1]
        while end > col:
            k = min(4, end - col)
            groups.append((end - k, k, i))
            end -= k
        col += f[1]
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:] = np.frombuffer(bytes(template), dtype=np.uint8)
    view = buf.view(
        np.dtype(
            {
                "names": [f"g{j}" for j in range(len(groups))],
                "formats": [f"V{k}" for _, k, _ in groups],
                "offsets": [off for off, _, _ in groups],
                "itemsize": width,
            }
        )
    ).reshape(n)
    rest: np.ndarray | None = None
    current = -1
    for j, (_, k, i) in enumerate(groups):
        if i != current:
            values, w = fields[i]  # type: ignore[misc]
            rest = np.asarray(values, dtype=np.int64).reshape(n)
            if not (rest.min() >= 0 and rest.max() < 10**w):
                rest = rest % 10**w
            current = i
        if j + 1 < len(groups) and groups[j + 1][2] == i:
            rest, low = np.divmod(rest, 10**k)
        else:  # the leftmost group of the field: what is left is below 10**k
            low = rest
        view[f"g{j}"] = np.take(_DIGITS[k], low)
    return buf.view(f"S{width}").reshape(n).astype(S)


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
