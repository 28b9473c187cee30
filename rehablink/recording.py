"""A recorded motion stream: timestamps, acceleration and (optionally) angular rate.

The interchange format is a CSV with header ``t,ax,ay,az`` and optional ``gx,gy,gz``: ``t`` in
seconds (irregular steps and gaps allowed), acceleration in g, angular rate in deg/s.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

ACC_COLUMNS = ("t", "ax", "ay", "az")
GYRO_COLUMNS = ("gx", "gy", "gz")


class RecordingError(ValueError):
    """A recording that cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True, eq=False)
class Recording:
    """Samples of one sensor.

    Attributes
    ----------
    t : ndarray, shape (n,)
        Sample times, s, non-decreasing.
    acc : ndarray, shape (n, 3)
        Acceleration in the sensor frame, g.
    gyro : ndarray, shape (n, 3) or None
        Angular rate in the sensor frame, deg/s, where the sensor has a gyro.
    """

    t: FloatArray
    acc: FloatArray
    gyro: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.t.shape[0]
        if self.t.ndim != 1 or self.acc.shape != (n, 3):
            raise ValueError(f"shape mismatch: t {self.t.shape}, acc {self.acc.shape}")
        if self.gyro is not None and self.gyro.shape != (n, 3):
            raise ValueError(f"shape mismatch: t {self.t.shape}, gyro {self.gyro.shape}")

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample, s."""
        return float(self.t[-1] - self.t[0]) if len(self) else 0.0

    @property
    def sample_rate_hz(self) -> float:
        """Median sampling rate, Hz (0 for fewer than two samples)."""
        if len(self) < 2:
            return 0.0
        dt = np.diff(self.t)
        dt = dt[dt > 0]
        return float(1.0 / np.median(dt)) if dt.size else 0.0

    def write_csv(self, path: str | Path) -> None:
        """Write the recording in the interchange CSV format (6 significant decimals)."""
        columns = ACC_COLUMNS + (GYRO_COLUMNS if self.gyro is not None else ())
        parts = [self.t[:, None], self.acc] + ([self.gyro] if self.gyro is not None else [])
        table = np.hstack(parts)
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            fmt = ["%.4f"] + ["%.5f"] * (table.shape[1] - 1)
            np.savetxt(fh, table, delimiter=",", fmt=fmt)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

#: Standard gravity, m/s² (phyphox exports acceleration in m/s²).
STANDARD_GRAVITY = 9.80665
#: Accepted median acceleration magnitude for a file in g (gravity included).
_G_RANGE = (0.5, 2.0)
#: Slowest accepted sampling: median step between samples, s.
_MAX_MEDIAN_STEP_S = 0.2


#: Largest recording file read, bytes: about 20 hours of six-axis samples at 100 Hz.
MAX_RECORDING_BYTES = 1 << 30


def load_recording(path: str | Path) -> Recording:
    """Load a recording from the interchange CSV or a phyphox accelerometer export.

    The interchange CSV has the header ``t,ax,ay,az`` and optional ``gx,gy,gz`` (s, g, deg/s).
    phyphox exports ("Acceleration with g"; comma, tab or semicolon separated, decimal point or
    comma) are converted from m/s² to g. Units that look wrong (m/s² in a g file, rad/s gyro,
    millisecond timestamps, acceleration without gravity) are rejected, not guessed.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError
        With one line naming the problem and, where there is one, the line and column.

    Examples
    --------
    >>> rec = load_recording("set.csv")  # doctest: +SKIP
    >>> rec.sample_rate_hz  # doctest: +SKIP
    100.0
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise RecordingError(f"{path}: is a directory, not a CSV file")
        if path.exists() and not path.is_file():  # a FIFO would block, /dev/zero never ends
            raise RecordingError(f"{path}: is not a regular file")
        with path.open("rb") as fh:
            raw = fh.read(MAX_RECORDING_BYTES + 1)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_RECORDING_BYTES:
        raise RecordingError(f"{path}: larger than {MAX_RECORDING_BYTES >> 20} MiB; split the "
                             "recording into sets")
    return parse_recording(raw, name=str(path))


def parse_recording(raw: bytes, name: str = "<data>") -> Recording:
    """Parse the bytes of a recording CSV (see :func:`load_recording`)."""
    if not raw.strip():
        raise RecordingError(f"{name}: empty file")
    if b"\x00" in raw[:4096]:
        raise RecordingError(f"{name}: not a CSV text file (binary content)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingError(
            f"{name}: not a CSV text file (undecodable byte at offset {exc.start})"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header_end = text.find("\n")
    header = text if header_end < 0 else text[:header_end]
    body = "" if header_end < 0 else text[header_end + 1:]
    layout = _read_header(header, name)
    if layout.decimal_comma:
        body = body.replace(",", ".")
    if not body.strip():
        raise RecordingError(f"{name}: header only, no samples")
    table = _parse_body(body, layout, name)
    return _to_recording(table, layout, body, name)


@dataclass(frozen=True)
class _Layout:
    """How to read the columns of a file."""

    delimiter: str
    decimal_comma: bool
    columns: tuple[str, ...]  # names as in the header
    t_col: int
    acc_cols: tuple[int, int, int]
    gyro_cols: tuple[int, int, int] | None
    acc_scale: float  # multiply to get g
    phyphox: bool


def _split_header(header: str) -> tuple[str, bool, list[str]]:
    if "\t" in header:
        delim = "\t"
    elif ";" in header:
        delim = ";"
    else:
        delim = ","
    cells = [c.strip().strip('"').strip() for c in header.split(delim)]
    return delim, delim in "\t;", cells


def _read_header(header: str, name: str) -> _Layout:
    delim, maybe_comma, cells = _split_header(header)
    lower = [c.lower() for c in cells]
    if "t" in lower:
        known = set(ACC_COLUMNS + GYRO_COLUMNS)
        extra = [c for c in cells if c.lower() not in known]
        if extra:
            raise RecordingError(
                f"{name}: line 1: unexpected column {extra[0]!r}; expected "
                f"{','.join(ACC_COLUMNS)} and optionally {','.join(GYRO_COLUMNS)}"
            )
        missing = [c for c in ACC_COLUMNS if c not in lower]
        if missing:
            raise RecordingError(f"{name}: line 1: missing column {missing[0]!r}")
        has_gyro = any(c in lower for c in GYRO_COLUMNS)
        if has_gyro and not all(c in lower for c in GYRO_COLUMNS):
            absent = next(c for c in GYRO_COLUMNS if c not in lower)
            raise RecordingError(
                f"{name}: line 1: missing column {absent!r} (gyro needs all three)"
            )
        if len(set(lower)) != len(lower):
            twice = next(c for c in lower if lower.count(c) > 1)
            raise RecordingError(f"{name}: line 1: column {twice!r} appears twice")
        idx = {c: i for i, c in enumerate(lower)}
        return _Layout(
            delimiter=delim, decimal_comma=False, columns=tuple(cells), t_col=idx["t"],
            acc_cols=(idx["ax"], idx["ay"], idx["az"]),
            gyro_cols=(idx["gx"], idx["gy"], idx["gz"]) if has_gyro else None,
            acc_scale=1.0, phyphox=False,
        )
    if lower and lower[0].startswith("time") and "(s)" in lower[0]:
        return _read_phyphox_header(cells, lower, delim, maybe_comma, name)
    shown = header if len(header) <= 60 else header[:57] + "..."
    raise RecordingError(
        f"{name}: line 1: unrecognised header {shown!r}; expected t,ax,ay,az[,gx,gy,gz] "
        "or a phyphox accelerometer export"
    )


def _read_phyphox_header(
    cells: list[str], lower: list[str], delim: str, maybe_comma: bool, name: str
) -> _Layout:
    if any("linear" in c for c in lower):
        raise RecordingError(
            f"{name}: phyphox 'Linear Acceleration' has no gravity and cannot give tilt; "
            "export the 'Acceleration with g' experiment instead"
        )
    if any("rad/s" in c for c in lower[1:]):
        raise RecordingError(
            f"{name}: a phyphox gyroscope export has no acceleration; "
            "export the 'Acceleration with g' experiment"
        )
    axes: dict[str, int] = {}
    for i, c in enumerate(lower[1:], start=1):
        if "m/s^2" not in c and "m/s²" not in c:
            continue
        words = c.split("(")[0].split()
        if words and words[-1] in ("x", "y", "z"):
            axes.setdefault(words[-1], i)
    if len(axes) != 3:
        raise RecordingError(
            f"{name}: line 1: phyphox export without x, y and z acceleration columns in m/s^2"
        )
    return _Layout(
        delimiter=delim, decimal_comma=maybe_comma, columns=tuple(cells), t_col=0,
        acc_cols=(axes["x"], axes["y"], axes["z"]), gyro_cols=None,
        acc_scale=1.0 / STANDARD_GRAVITY, phyphox=True,
    )


#: Block size for pyarrow's CSV reader: a one-hour file splits into about six blocks that the
#: reader's threads parse in parallel (0.03 s on two cores against 0.06 s in one thread).
_CSV_BLOCK_BYTES = 4 << 20


def _parse_body(body: str, layout: _Layout, name: str) -> FloatArray:
    table = _parse_body_arrow(body, layout)
    if table is None:  # pyarrow refused a cell or a row: NumPy's reader decides, as it always has
        table = _parse_body_numpy(body, layout, name)
    if table.shape[0] == 0:
        raise RecordingError(f"{name}: header only, no samples")
    return table


def _parse_body_arrow(body: str, layout: _Layout) -> FloatArray | None:
    """The body as an (n, columns) table by pyarrow's CSV reader, or None if it refuses it.

    Empty cells and "NA"-like words are refused rather than read as missing values. pyarrow
    refuses a few odd cells NumPy accepts (a quoted line break, a non-breaking space or a
    vertical tab around a number), hence None and not an error. Imported here, not at the top:
    most importers of this module never read a CSV, and pyarrow adds ~0.03 s to their start.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [f"c{i}" for i in range(len(layout.columns))]  # header names may repeat
    try:
        arrow = pa_csv.read_csv(
            pa.py_buffer(body.encode()),
            read_options=pa_csv.ReadOptions(
                column_names=names, use_threads=True, block_size=_CSV_BLOCK_BYTES
            ),
            parse_options=pa_csv.ParseOptions(delimiter=layout.delimiter, quote_char='"'),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.float64()), null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    # Column by column into a column-major array: _to_recording takes whole columns from it.
    out = np.empty((arrow.num_columns, arrow.num_rows), dtype=np.float64)
    for j, column in enumerate(arrow.columns):
        start = 0
        for chunk in column.chunks:
            out[j, start:start + len(chunk)] = chunk.to_numpy()
            start += len(chunk)
    return out.T


def _parse_body_numpy(body: str, layout: _Layout, name: str) -> FloatArray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(
                io.StringIO(body), delimiter=layout.delimiter, comments=None, ndmin=2,
                dtype=np.float64, quotechar='"',
            )
    except ValueError:
        raise RecordingError(_locate_problem(body, layout, name)) from None
    if table.shape[1] != len(layout.columns):
        raise RecordingError(_locate_problem(body, layout, name))
    return table


def _locate_problem(body: str, layout: _Layout, name: str) -> str:
    """Find the first bad line the slow way, for a message that names it."""
    ncol = len(layout.columns)
    prev_t = -np.inf
    for offset, line in enumerate(body.split("\n")):
        lineno = offset + 2
        if not line.strip():
            continue
        cells = line.split(layout.delimiter)
        if len(cells) != ncol:
            expected = ",".join(layout.columns)
            return f"{name}: line {lineno}: {len(cells)} cells, expected {ncol} ({expected})"
        values = []
        for col, cell in zip(layout.columns, cells, strict=True):
            text = cell.strip().strip('"')
            try:
                value = float(text)
            except ValueError:
                shown = text if len(text) <= 20 else text[:17] + "..."
                return f"{name}: line {lineno}, column {col}: not a number ({shown!r})"
            if not np.isfinite(value):
                return f"{name}: line {lineno}, column {col}: {text} is not a finite number"
            values.append(value)
        t = values[layout.t_col]
        if t < prev_t:
            return f"{name}: line {lineno}: time goes backwards ({t:g} s after {prev_t:g} s)"
        prev_t = t
    return f"{name}: malformed CSV"


def _to_recording(table: FloatArray, layout: _Layout, body: str, name: str) -> Recording:
    if not np.all(np.isfinite(table)):
        raise RecordingError(_locate_problem(body, layout, name))
    t = np.ascontiguousarray(table[:, layout.t_col])
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise RecordingError(_locate_problem(body, layout, name))
    acc = np.ascontiguousarray(table[:, list(layout.acc_cols)]) * layout.acc_scale
    gyro = (
        None if layout.gyro_cols is None
        else np.ascontiguousarray(table[:, list(layout.gyro_cols)])
    )
    _check_time_units(t, name)
    _check_acc_units(acc, layout, name)
    if gyro is not None:
        _check_gyro_units(t, acc, gyro, name)
    return Recording(t=t, acc=acc, gyro=gyro)


def _check_time_units(t: FloatArray, name: str) -> None:
    if t.size < 2:
        return
    dt = np.diff(t)
    dt = dt[dt > 0]
    if dt.size == 0:
        raise RecordingError(f"{name}: column t: all timestamps are equal")
    step = float(np.median(dt))
    if step >= 1.0:
        raise RecordingError(
            f"{name}: column t: median step {step:g} looks like milliseconds; t must be in seconds"
        )
    if step > _MAX_MEDIAN_STEP_S:
        raise RecordingError(
            f"{name}: column t: median step {step:g} s ({1 / step:.1f} Hz) is too slow; "
            f"need at least {1 / _MAX_MEDIAN_STEP_S:.0f} Hz"
        )


def _check_acc_units(acc: FloatArray, layout: _Layout, name: str) -> None:
    mag = float(np.median(np.sqrt(np.einsum("ij,ij->i", acc, acc))))
    lo, hi = _G_RANGE
    if lo <= mag <= hi:
        return
    if layout.phyphox:
        if mag < lo:
            raise RecordingError(
                f"{name}: acceleration has no gravity (median {mag * STANDARD_GRAVITY:.2f} m/s^2): "
                "linear acceleration cannot give tilt; export 'Acceleration with g'"
            )
        raise RecordingError(
            f"{name}: implausible acceleration (median {mag * STANDARD_GRAVITY:.1f} m/s^2)"
        )
    if 0.5 * STANDARD_GRAVITY <= mag <= 2.0 * STANDARD_GRAVITY:
        raise RecordingError(
            f"{name}: columns ax,ay,az: median magnitude {mag:.2f} looks like m/s^2; "
            "acceleration must be in g"
        )
    if 500.0 <= mag <= 2000.0:
        raise RecordingError(
            f"{name}: columns ax,ay,az: median magnitude {mag:.0f} looks like milli-g; "
            "acceleration must be in g"
        )
    if mag < lo:
        raise RecordingError(
            f"{name}: columns ax,ay,az: median magnitude {mag:.3f} g has no gravity; "
            "linear acceleration cannot give tilt"
        )
    raise RecordingError(f"{name}: columns ax,ay,az: implausible median magnitude {mag:.2f} g")


def _check_gyro_units(t: FloatArray, acc: FloatArray, gyro: FloatArray, name: str) -> None:
    """Reject rad/s: compare the gyro's rate with the tilt rate seen by the accelerometer."""
    if t.size < 10:
        return
    step0 = max(1, t.size // 50_000)  # a long file: every few samples tell the same
    t, acc, gyro = t[::step0], acc[::step0], gyro[::step0]
    rate_hz = 1.0 / float(np.median(np.diff(t)[np.diff(t) > 0]))
    k = max(1, round(0.2 * rate_hz))  # 0.2 s moving average keeps slow tilts, drops noise
    kernel = np.ones(k) / k
    smooth = np.stack([np.convolve(acc[:, i], kernel, mode="valid") for i in range(3)], axis=1)
    unit = smooth / np.maximum(np.linalg.norm(smooth, axis=1, keepdims=True), 1e-9)
    step = max(1, k)
    cosang = np.clip(np.einsum("ij,ij->i", unit[step:], unit[:-step]), -1.0, 1.0)
    dt = t[step + k - 1:][: cosang.size] - t[k - 1:][: cosang.size]
    if cosang.size == 0:  # shorter than two averaging windows: too short to tell
        return
    tilt_rate = np.degrees(np.arccos(cosang)) / np.maximum(dt, 1e-6)
    acc_p95 = float(np.percentile(tilt_rate, 95))
    gyro_p95 = float(np.percentile(np.linalg.norm(gyro, axis=1), 95))
    if acc_p95 > 5.0 and gyro_p95 < acc_p95 / 12.0:
        raise RecordingError(
            f"{name}: columns gx,gy,gz: rates up to {gyro_p95:.2f} while the tilt changes at "
            f"{acc_p95:.0f} deg/s: the gyro looks like rad/s; it must be in deg/s"
        )
