"""Loading recordings: the interchange CSV, phyphox exports, unit checks and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehablink.recording import STANDARD_GRAVITY, Recording, RecordingError, load_recording


def _still(n: int = 200, rate: float = 100.0, gyro: bool = True) -> Recording:
    """A sensor lying still and then tilting slowly (1 g on z, a 30 deg swing)."""
    t = np.arange(n) / rate
    ang = np.radians(30.0 * np.sin(np.pi * t / t[-1]))
    acc = np.stack([np.sin(ang), np.zeros(n), np.cos(ang)], axis=1)
    g = np.zeros((n, 3))
    g[:, 1] = np.degrees(np.gradient(ang, t))
    return Recording(t=t, acc=acc, gyro=g if gyro else None)


def _write(tmp_path: Path, text: str | bytes, name: str = "rec.csv") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def test_interchange_round_trip(tmp_path: Path) -> None:
    rec = _still()
    rec.write_csv(tmp_path / "r.csv")
    back = load_recording(tmp_path / "r.csv")
    assert back.gyro is not None and rec.gyro is not None
    np.testing.assert_allclose(back.t, rec.t, atol=1e-4)
    np.testing.assert_allclose(back.acc, rec.acc, atol=1e-5)
    np.testing.assert_allclose(back.gyro, rec.gyro, atol=1e-5)


def test_interchange_without_gyro_and_reordered_columns(tmp_path: Path) -> None:
    p = _write(tmp_path, "az,t,ax,ay\n1.0,0.00,0,0\n1.0,0.01,0,0\n0.99,0.02,0.1,0\n")
    rec = load_recording(p)
    assert rec.gyro is None
    np.testing.assert_allclose(rec.t, [0.0, 0.01, 0.02])
    np.testing.assert_allclose(rec.acc[2], [0.1, 0.0, 0.99])


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    p = _write(tmp_path, "\ufefft,ax,ay,az\r\n0,0,0,1\r\n0.01,0,0,1\r\n".encode())
    assert len(load_recording(p)) == 2


@pytest.mark.parametrize("sep", [",", "\t"])
def test_phyphox_acceleration_with_g(tmp_path: Path, sep: str) -> None:
    header = sep.join(['"Time (s)"', '"Acceleration x (m/s^2)"', '"Acceleration y (m/s^2)"',
                       '"Acceleration z (m/s^2)"', '"Absolute acceleration (m/s^2)"'])
    rows = [sep.join(f"{v:.6E}" for v in (0.01 * i, 0.0, 0.5, 9.81, 9.82)) for i in range(50)]
    rec = load_recording(_write(tmp_path, header + "\n" + "\n".join(rows) + "\n"))
    assert rec.gyro is None
    np.testing.assert_allclose(rec.acc[0], [0.0, 0.5 / STANDARD_GRAVITY, 9.81 / STANDARD_GRAVITY])
    assert rec.sample_rate_hz == pytest.approx(100.0)


def test_phyphox_short_names_semicolon_decimal_comma(tmp_path: Path) -> None:
    header = '"Time (s)";"X (m/s^2)";"Y (m/s^2)";"Z (m/s^2)"'
    rows = [f"{0.02 * i:.3f};0,1;-0,2;9,8".replace(".", ",") for i in range(20)]
    rec = load_recording(_write(tmp_path, header + "\n" + "\n".join(rows) + "\n"))
    assert rec.acc[0, 2] == pytest.approx(9.8 / STANDARD_GRAVITY)
    assert rec.t[1] == pytest.approx(0.02)


def test_phyphox_linear_acceleration_is_rejected(tmp_path: Path) -> None:
    header = '"Time (s)","Linear Acceleration x (m/s^2)","Linear Acceleration y (m/s^2)",' \
             '"Linear Acceleration z (m/s^2)"'
    p = _write(tmp_path, header + "\n0,0.1,0,0\n0.01,0,0.1,0\n")
    with pytest.raises(RecordingError, match=r"Linear Acceleration.*cannot give tilt"):
        load_recording(p)


def test_phyphox_without_gravity_by_values_is_rejected(tmp_path: Path) -> None:
    header = '"Time (s)","X (m/s^2)","Y (m/s^2)","Z (m/s^2)"'
    rows = [f"{0.01 * i},0.05,-0.02,0.1" for i in range(30)]
    with pytest.raises(RecordingError, match="no gravity"):
        load_recording(_write(tmp_path, header + "\n" + "\n".join(rows)))


def test_m_per_s2_in_a_g_file_is_rejected(tmp_path: Path) -> None:
    rows = [f"{0.01 * i},0.1,0.2,9.81" for i in range(30)]
    with pytest.raises(RecordingError, match=r"looks like m/s\^2"):
        load_recording(_write(tmp_path, "t,ax,ay,az\n" + "\n".join(rows)))


def test_milli_g_is_rejected(tmp_path: Path) -> None:
    rows = [f"{0.01 * i},10,-20,1000" for i in range(30)]
    with pytest.raises(RecordingError, match="milli-g"):
        load_recording(_write(tmp_path, "t,ax,ay,az\n" + "\n".join(rows)))


def test_millisecond_timestamps_are_rejected(tmp_path: Path) -> None:
    rows = [f"{10 * i},0,0,1" for i in range(30)]
    with pytest.raises(RecordingError, match="milliseconds"):
        load_recording(_write(tmp_path, "t,ax,ay,az\n" + "\n".join(rows)))


def test_rad_per_s_gyro_is_rejected(tmp_path: Path) -> None:
    rec = _still(n=400)
    assert rec.gyro is not None
    rad = Recording(t=rec.t, acc=rec.acc, gyro=np.radians(rec.gyro))
    rad.write_csv(tmp_path / "rad.csv")
    with pytest.raises(RecordingError, match="rad/s"):
        load_recording(tmp_path / "rad.csv")
    rec.write_csv(tmp_path / "deg.csv")  # the same motion in deg/s loads
    assert load_recording(tmp_path / "deg.csv").gyro is not None


BAD_INPUTS = {
    "empty": (b"", "empty file"),
    "blank": (b"\n\n  \n", "empty file"),
    "header only": (b"t,ax,ay,az\n", "header only"),
    "missing column": (b"t,ax,ay\n0,0,0\n", "missing column 'az'"),
    "extra column": (b"t,ax,ay,az,temp\n0,0,0,1,20\n", "unexpected column 'temp'"),
    "partial gyro": (b"t,ax,ay,az,gx\n0,0,0,1,0\n", "missing column 'gy'"),
    "short row": (b"t,ax,ay,az\n0,0,0,1\n0.01,0,0\n", "line 3: 3 cells, expected 4"),
    "long row": (b"t,ax,ay,az\n0,0,0,1\n0.01,0,0,1,5\n", "line 3: 5 cells, expected 4"),
    "non-numeric": (b"t,ax,ay,az\n0,0,0,1\n0.01,0,abc,1\n", "line 3, column ay: not a number"),
    "nan": (b"t,ax,ay,az\n0,0,0,1\n0.01,nan,0,1\n", "line 3, column ax: nan is not a finite"),
    "inf": (b"t,ax,ay,az\n0,0,0,1\n0.01,0,0,inf\n", "line 3, column az: inf is not a finite"),
    "backwards": (b"t,ax,ay,az\n0,0,0,1\n0.02,0,0,1\n0.01,0,0,1\n",
                  "line 4: time goes backwards"),
    "not csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
    "latin-1 junk": (b"t,ax,ay,az\n0,0,0,1\n\xff\xfe,0,0,1\n", "not a CSV text file"),
    "unknown header": (b"time,x,y,z\n0,0,0,1\n", "unrecognised header"),
    "duplicate column": (b"t,ax,ay,az,ax\n0,0,0,1,0\n", "column 'ax' appears twice"),
    # Cells a CSV reader might take for missing values are refused, not read as NaN.
    "empty cell": (b"t,ax,ay,az\n0,0,0,1\n0.01,,0,1\n", "line 3, column ax: not a number ('')"),
    "quoted empty cell": (b't,ax,ay,az\n0,0,0,1\n0.01,0,0,""\n',
                          "line 3, column az: not a number ('')"),
    "NA cell": (b"t,ax,ay,az\n0,0,0,1\n0.01,0,NA,1\n", "line 3, column ay: not a number ('NA')"),
    "null cell": (b"t,ax,ay,az\n0,0,0,1\nnull,0,0,1\n", "line 3, column t: not a number ('null')"),
    "empty row": (b"t,ax,ay,az\n0,0,0,1\n,,,\n0.02,0,0,1\n", "line 3, column t: not a number"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_the_problem(tmp_path: Path, case: str) -> None:
    data, expected = BAD_INPUTS[case]
    p = _write(tmp_path, data)
    with pytest.raises(RecordingError) as info:
        load_recording(p)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith(str(p))


def test_quoted_cells_and_blank_lines_load(tmp_path: Path) -> None:
    text = 't,ax,ay,az\n"0.00","0.1",0,"1.0"\n\n0.01,"0.1","0",1\n\n\n0.02,0.1,0,1\n\n'
    rec = load_recording(_write(tmp_path, text))
    np.testing.assert_array_equal(rec.t, [0.0, 0.01, 0.02])
    np.testing.assert_array_equal(rec.acc, [[0.1, 0.0, 1.0]] * 3)


def test_cells_padded_with_odd_white_space_load(tmp_path: Path) -> None:
    """A non-breaking space (spreadsheet exports) or a vertical tab around a number is read as
    before: the fast reader refuses such cells and the NumPy reader takes the file."""
    text = "t,ax,ay,az\n0.00, 0.1,\u00a00,1\n0.01,\t0.1,0\u00a0,1\n0.02,0.1,\x0b0,1\n"
    rec = load_recording(_write(tmp_path, text))
    np.testing.assert_array_equal(rec.t, [0.0, 0.01, 0.02])
    np.testing.assert_array_equal(rec.acc, [[0.1, 0.0, 1.0]] * 3)


def test_a_file_read_in_many_blocks_gives_the_same_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow reads a long file in blocks; the table joins them in order, bit for bit."""
    import rehablink.recording as recording

    rec = _still(n=3000)
    rec.write_csv(tmp_path / "long.csv")
    monkeypatch.setattr(recording, "_CSV_BLOCK_BYTES", 4096)  # about 60 blocks

    def no_fallback(*args: object) -> None:
        raise AssertionError("the file should not need the NumPy reader")

    monkeypatch.setattr(recording, "_parse_body_numpy", no_fallback)
    back = load_recording(tmp_path / "long.csv")
    expected = np.loadtxt(tmp_path / "long.csv", delimiter=",", skiprows=1)
    assert back.gyro is not None
    np.testing.assert_array_equal(back.t, expected[:, 0])
    np.testing.assert_array_equal(back.acc, expected[:, 1:4])
    np.testing.assert_array_equal(back.gyro, expected[:, 4:7])


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read"):
        load_recording(tmp_path / "nope.csv")
    with pytest.raises(RecordingError, match="is a directory"):
        load_recording(tmp_path)


def test_jittered_and_gapped_timestamps_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    t = np.cumsum(rng.uniform(0.006, 0.014, 500))
    t[300:] += 3.0  # a three-second disconnect
    rec = Recording(t=t, acc=np.tile([0.0, 0.0, 1.0], (500, 1)))
    rec.write_csv(tmp_path / "j.csv")
    back = load_recording(tmp_path / "j.csv")
    assert len(back) == 500
    assert back.duration_s == pytest.approx(rec.duration_s, abs=1e-3)


def test_load_refuses_a_fifo_and_a_device(tmp_path: Path) -> None:
    """A FIFO made ``rehab analyze`` wait forever and /dev/zero ran it out of memory."""
    import os

    fifo = tmp_path / "stream.csv"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(RecordingError, match="is not a regular file"):
            load_recording(path)


def test_load_refuses_a_file_over_the_size_limit(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are read up to a limit, not whole: a huge file is one clear error."""
    import rehablink.recording as recording

    path = tmp_path / "big.csv"
    path.write_text("t,ax,ay,az\n" + "0.0,0,0,1\n" * 100)
    monkeypatch.setattr(recording, "MAX_RECORDING_BYTES", 200)
    with pytest.raises(RecordingError, match="larger than"):
        load_recording(path)


@pytest.mark.parametrize("n", [10, 25, 39, 41])
def test_a_short_six_axis_file_loads(tmp_path: Path, n: int) -> None:
    """A few tenths of a second with a gyro is too short to check the gyro's units against the
    tilt (the check averages over 0.2 s windows): it loads unchecked (it raised IndexError)."""
    rec = _still(n=n)
    rec.write_csv(tmp_path / "short.csv")
    back = load_recording(tmp_path / "short.csv")
    assert len(back) == n
    assert back.gyro is not None
