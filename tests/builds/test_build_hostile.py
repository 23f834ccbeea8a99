"""``pixbench build`` on a disk that fills up: one ``error:`` line, exit 1, the output folder as it was.

The full disk is simulated in-process: every parquet file pyarrow writes goes through :class:`DiskFile`
(a real file on disk that fails with ``ENOSPC`` once the :class:`FullDisk` budget is spent, on ``write`` and
on the footer's ``close`` alike, as a real full disk does), and ``Path.write_text``/``write_bytes`` (the card
and summary) charge the same budget. Python's own reports of errors it cannot raise (``Exception ignored
in ...`` from a ``__del__``, ``Exception in thread ...``) are collected through ``sys.unraisablehook`` and
``threading.excepthook`` and must stay empty.
"""

from __future__ import annotations

import errno
import gc
import io
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pixbench.benchmarks.mocentric.synthetic import SyntheticMevis, write_synthetic_mevis
from pixbench.cli import main


def build_args(tiny_inputs: Any, out: Path, *extra: str) -> list[str]:
    return ["build", "pixmmvp", "--mmvp", str(tiny_inputs.mmvp_dir), "--annotations",
            str(tiny_inputs.pixmmvp_annotations), "--out", str(out), *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (folders as empty entries)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else b""
            for path in sorted(folder.rglob("*"))}


class FullDisk:
    """``free`` bytes left; a write that does not fit fails with ``ENOSPC`` (and so does every later one)."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.failures = 0

    def charge(self, size: int) -> None:
        if size > self.free:
            self.free = 0
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.free -= size


class DiskFile(io.RawIOBase):
    """A real file written through ``disk``: bytes that fit reach the file, the rest raise ``ENOSPC``."""

    def __init__(self, path: str | Path, disk: FullDisk) -> None:
        super().__init__()
        self.handle = Path(path).open("wb")  # noqa: SIM115 (closed in close())
        self.disk = disk

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        self.disk.charge(size)
        self.handle.write(data)
        return size

    def close(self) -> None:
        if not self.closed:
            self.handle.close()
        super().close()


@pytest.fixture()
def full_disk(monkeypatch: pytest.MonkeyPatch):
    """Make every parquet and card write of a build charge a :class:`FullDisk`; returns a function that sets
    the free bytes, and the list of Python's unraisable/thread error reports collected meanwhile."""
    disk = FullDisk(10**12)
    reports: list[str] = []
    files: list[DiskFile] = []
    real_init = pq.ParquetWriter.__init__

    def writer_init(self: pq.ParquetWriter, where: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(where, (str, Path)):
            where = DiskFile(where, disk)
            files.append(where)
        real_init(self, where, *args, **kwargs)

    def charged(real: Any) -> Any:
        def write(self: Path, data: Any, *args: Any, **kwargs: Any) -> int:
            disk.charge(len(data.encode("utf-8") if isinstance(data, str) else data))
            return real(self, data, *args, **kwargs)
        return write

    monkeypatch.setattr(pq.ParquetWriter, "__init__", writer_init)
    monkeypatch.setattr(Path, "write_text", charged(Path.write_text))
    monkeypatch.setattr(Path, "write_bytes", charged(Path.write_bytes))
    monkeypatch.setattr(sys, "unraisablehook", lambda report: reports.append(
        f"Exception ignored in {report.object!r}: {report.exc_type.__name__}: {report.exc_value}"))
    monkeypatch.setattr(threading, "excepthook", lambda report: reports.append(
        f"Exception in thread {report.thread}: {report.exc_type.__name__}: {report.exc_value}"))

    def set_free(free: int) -> FullDisk:
        disk.free, disk.failures = free, 0
        return disk

    yield set_free, reports
    for handle in files:
        handle.close()


@pytest.fixture(scope="module")
def mevis(tmp_path_factory: pytest.TempPathFactory) -> SyntheticMevis:
    return write_synthetic_mevis(tmp_path_factory.mktemp("mevis") / "mevis")


def mocentric_args(mevis: SyntheticMevis, out: Path) -> list[str]:
    return ["build", "mocentric", "--mevis", str(mevis.root), "--keyframes", str(mevis.keyframes),
            "--reverse-expressions", str(mevis.reverse_expressions), "--out", str(out)]


def _check_one_error_line(err: str, reports: list[str]) -> None:
    gc.collect()
    assert reports == []
    assert "Traceback" not in err and "Exception ignored" not in err
    lines = err.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:]
    assert "No space left on device" in lines[-1] and "build failed" in lines[-1]


# The synthetic MoCentric build writes about 8 kB of expressions, 7 kB of reversed expressions and 52 kB of
# frames (one writer open per config at a time, the first two open together): the budgets fail the build in
# the first shard's first row group, in its footer while the reversed shard is open, in the frames and in the
# card (everything else written).
@pytest.mark.parametrize("free", [100, 4_000, 30_000, 67_000])
def test_mocentric_build_on_a_full_disk_is_one_error_line(mevis, tmp_path, capsys, full_disk, free):
    set_free, reports = full_disk
    out = tmp_path / "MoCentric-Bench"
    disk = set_free(free)
    assert main(mocentric_args(mevis, out)) == 1
    assert disk.failures >= 1
    _check_one_error_line(capsys.readouterr().err, reports)
    assert not out.exists()  # the folder the build created is gone with its staging


def test_mocentric_rebuild_on_a_full_disk_keeps_the_earlier_build(mevis, tmp_path, capsys, full_disk):
    set_free, reports = full_disk
    out = tmp_path / "MoCentric-Bench"
    assert main(mocentric_args(mevis, out)) == 0
    (out / "notes.txt").write_text("mine")  # (a foreign file: --force below)
    before = snapshot(out)
    capsys.readouterr()
    for free in (100, 4_000, 30_000):
        set_free(free)
        assert main([*mocentric_args(mevis, out), "--force"]) == 1
        _check_one_error_line(capsys.readouterr().err, reports)
        assert snapshot(out) == before


def test_image_build_on_a_full_disk_is_one_error_line(tiny_inputs, tmp_path, capsys, full_disk):
    set_free, reports = full_disk
    (tmp_path / "empty").mkdir()
    for free in (100, 5_000):
        set_free(free)
        assert main(build_args(tiny_inputs, tmp_path / "empty")) == 1
        _check_one_error_line(capsys.readouterr().err, reports)
        assert list((tmp_path / "empty").iterdir()) == []  # an existing folder is kept, empty as it was
