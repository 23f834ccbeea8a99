"""pixbench.fetching against a fake hub on 127.0.0.1: files laid out and recorded, every file checked against the
repo's digest, transient failures retried, damaged files fetched again, partial files continued, and a second
run that downloads nothing it already has (requests counted)."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fake_hub import FakeHub, git_blob_id
from PIL import Image

from pixbench.benchmarks.raw_inputs import GitHubFile, HubFiles, InputFolder
from pixbench.fetching import MANIFEST, PARTIAL_FOLDER, FetchError, Retry, fetch_folders, folders

FAST = Retry(tries=3, first_wait=0.01, max_wait=0.02)


def _png(seed: int, size: int = 40) -> bytes:
    image = Image.new("RGB", (size, size), (seed * 40 % 256, 90, 200 - seed))
    image.putpixel((seed % size, 3), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _noise_png() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG")
    return out.getvalue()


NOTE = b"id,name\n1,first\n2,second\n"
PINNED = b"23.jpg\n24.jpg\n"
FILES = {"images/a.png": _png(1, 300), "images/b.png": _png(2), "table.csv": NOTE, "README.md": b"# card\n",
         "other/skip.bin": b"\0" * 64}
SPEC = InputFolder(
    folder="Data", title="test data", license="CC0",
    hub=HubFiles("acme/data", include=("images/*.png", "table.csv"), required=("table.csv", "images/a.png")),
    github=(GitHubFile("acme/code", "c0ffee", "data/none.txt", size=len(PINNED),
                       sha256=hashlib.sha256(PINNED).hexdigest(), save_as="none.txt"),))


def _serve(hub: FakeHub) -> str:
    hub.add_github("acme/code", "c0ffee", "data/none.txt", PINNED)
    return hub.add_repo("acme/data", FILES)


def _fetch(to: Path, spec: InputFolder = SPEC, retry: Retry = FAST):
    [report] = fetch_folders([spec], to, retry=retry, workers=2)
    return report


def test_fetch_lays_out_checks_and_records(online_hub: FakeHub, tmp_path: Path) -> None:
    commit = _serve(online_hub)
    report = _fetch(tmp_path)
    root = tmp_path / "Data"
    for path in ("images/a.png", "images/b.png", "table.csv"):
        assert (root / path).read_bytes() == FILES[path]
    assert (root / "none.txt").read_bytes() == PINNED
    assert not (root / "README.md").exists() and not (root / "other").exists()  # not matched by the patterns
    assert Image.open(root / "images" / "a.png").size == (300, 300)
    assert (report.files, report.downloaded, report.kept, report.resumed, report.repaired) == (4, 4, 0, 0, 0)
    assert report.bytes == sum(len(FILES[p]) for p in ("images/a.png", "images/b.png", "table.csv")) + len(PINNED)
    assert report.source == f"acme/data@{commit[:12]}, acme/code@c0ffee:data/none.txt"
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["hub"] == {"repo_id": "acme/data", "revision": "main", "commit": commit}
    assert manifest["files"]["table.csv"] == {"size": len(NOTE), "git-sha1": git_blob_id(NOTE)}
    assert manifest["files"]["images/a.png"] == {"size": len(FILES["images/a.png"]),
                                                 "sha256": hashlib.sha256(FILES["images/a.png"]).hexdigest()}
    assert manifest["files"]["none.txt"]["sha256"] == hashlib.sha256(PINNED).hexdigest()
    assert not (tmp_path / PARTIAL_FOLDER).exists()
    # the LFS file went through the CDN redirect, the git file straight from resolve, all at the listed commit
    gets = [r.path for r in online_hub.file_gets()]
    assert f"/datasets/acme/data/resolve/{commit}/images/a.png" in gets
    assert f"/lfs-cdn/{hashlib.sha256(FILES['images/a.png']).hexdigest()}" in gets
    assert online_hub.count("GET", "/api/datasets/acme/data/revision/main") == 1


def test_a_second_run_downloads_nothing_it_has(online_hub: FakeHub, tmp_path: Path) -> None:
    _serve(online_hub)
    _fetch(tmp_path)
    before = len(online_hub.file_gets())
    report = _fetch(tmp_path)
    assert (report.kept, report.downloaded, report.bytes) == (4, 0, 0)
    assert len(online_hub.file_gets()) == before  # no file requested again, only the listing
    assert online_hub.count("GET", "/api/datasets/") == 2


def test_a_503_is_retried_until_it_succeeds(online_hub: FakeHub, tmp_path: Path) -> None:
    commit = _serve(online_hub)
    online_hub.fail("acme/data:table.csv", "503", "503")
    online_hub.fail("api:acme/data", "503")
    report = _fetch(tmp_path)
    assert (tmp_path / "Data" / "table.csv").read_bytes() == NOTE
    assert report.retries == 2 and report.downloaded == 4
    assert online_hub.count("GET", f"/datasets/acme/data/resolve/{commit}/table.csv") == 3
    assert online_hub.count("GET", "/api/datasets/acme/data") == 2  # the listing was retried too


def test_a_file_that_keeps_failing_is_named_and_the_others_stay(online_hub: FakeHub, tmp_path: Path) -> None:
    _serve(online_hub)
    online_hub.fail("acme/data:table.csv", "503", "503", "503")
    with pytest.raises(FetchError, match=r"1 file\(s\) could not be fetched after 3 tries \(3 in place; rerun to "
                                         r"resume\): .*Data/table.csv: HfHubHTTPError: Server error '503"):
        _fetch(tmp_path)
    assert (tmp_path / "Data" / "images" / "a.png").read_bytes() == FILES["images/a.png"]
    assert not (tmp_path / "Data" / "table.csv").exists() and not (tmp_path / "Data" / MANIFEST).exists()
    report = _fetch(tmp_path)  # the hub answers again: the rerun fetches only what is missing
    assert (report.kept, report.downloaded) == (3, 1)


def test_wrong_bytes_from_the_server_are_fetched_again(online_hub: FakeHub, tmp_path: Path) -> None:
    _serve(online_hub)
    online_hub.fail("acme/data:images/b.png", "corrupt")  # right length, wrong bytes
    online_hub.fail("github:acme/code/c0ffee/data/none.txt", "corrupt")
    report = _fetch(tmp_path)
    assert (tmp_path / "Data" / "images" / "b.png").read_bytes() == FILES["images/b.png"]
    assert (tmp_path / "Data" / "none.txt").read_bytes() == PINNED
    assert report.retries == 2


def test_a_damaged_file_on_disk_is_detected_and_fetched_again(online_hub: FakeHub, tmp_path: Path) -> None:
    commit = _serve(online_hub)
    _fetch(tmp_path)
    damaged = tmp_path / "Data" / "images" / "a.png"
    data = bytearray(damaged.read_bytes())
    data[100] ^= 0xFF  # same size, one byte changed
    damaged.write_bytes(bytes(data))
    (tmp_path / "Data" / "table.csv").write_bytes(NOTE.upper())  # a git-stored file, same size
    before = len(online_hub.file_gets())
    report = _fetch(tmp_path)
    assert (report.repaired, report.kept) == (2, 2)
    assert damaged.read_bytes() == FILES["images/a.png"]
    assert (tmp_path / "Data" / "table.csv").read_bytes() == NOTE
    fetched_again = {r.path for r in online_hub.file_gets()[before:]}
    assert fetched_again == {f"/datasets/acme/data/resolve/{commit}/images/a.png",
                             f"/lfs-cdn/{hashlib.sha256(FILES['images/a.png']).hexdigest()}",
                             f"/datasets/acme/data/resolve/{commit}/table.csv"}


def test_a_partial_file_left_by_a_killed_run_is_continued(online_hub: FakeHub, tmp_path: Path) -> None:
    _serve(online_hub)
    data = FILES["images/a.png"]
    partial = tmp_path / PARTIAL_FOLDER / "Data" / "images" / f"a.png.{hashlib.sha256(data).hexdigest()[:16]}.part"
    partial.parent.mkdir(parents=True)
    stale = partial.with_name("a.png.0123456789abcdef.part")  # another revision's: never continued, removed
    stale.write_bytes(b"\0" * 500)
    partial.write_bytes(data[:500])
    report = _fetch(tmp_path)
    assert (tmp_path / "Data" / "images" / "a.png").read_bytes() == data
    assert report.resumed == 1 and report.downloaded == 3
    assert [r.range for r in online_hub.file_gets() if r.path.startswith("/lfs-cdn/")
            and r.path.endswith(hashlib.sha256(data).hexdigest())] == ["bytes=500-"]
    assert report.bytes == len(data) - 500 + sum(len(FILES[p]) for p in ("images/b.png", "table.csv")) + len(PINNED)
    assert not partial.exists() and not (tmp_path / PARTIAL_FOLDER).exists()


def test_a_dropped_connection_resumes_where_it_stopped(online_hub: FakeHub, tmp_path: Path) -> None:
    data = _noise_png()  # ~480 kB: the client has written what came before the connection closed
    noise = np.asarray(Image.open(io.BytesIO(data)))
    commit = online_hub.add_repo("acme/big", {"big.png": data})
    spec = InputFolder("Big", "big", "CC0", hub=HubFiles("acme/big", include=("*.png",)))
    online_hub.fail("acme/big:big.png", "drop")  # half the body, then the connection closes
    report = _fetch(tmp_path, spec)
    assert (tmp_path / "Big" / "big.png").read_bytes() == data
    assert np.array_equal(np.asarray(Image.open(tmp_path / "Big" / "big.png")), noise)
    ranges = [r.range for r in online_hub.file_gets()]
    assert ranges[0] is None and ranges[-1] is not None
    start = int(ranges[-1][len("bytes="):-1])
    assert 0 < start <= len(data) // 2 and report.bytes == len(data) // 2 + len(data) - start
    assert report.retries == 1 and report.resumed == 1
    assert online_hub.count("GET", f"/datasets/acme/big/resolve/{commit}/big.png") == 2


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_ctrl_c_stops_the_downloads_and_a_rerun_continues_them(online_hub: FakeHub, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = _noise_png()
    online_hub.add_repo("acme/big", {"big.png": data})
    spec = InputFolder("Big", "big", "CC0", hub=HubFiles("acme/big", include=("*.png",)))
    online_hub.fail("acme/big:big.png", "stall")  # half the file, then the server waits

    class Pool(ThreadPoolExecutor):
        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            online_hub.release.set()  # the rest arrives once the fetch is stopping: the download sees the stop there
            super().shutdown(wait, cancel_futures=cancel_futures)

    monkeypatch.setattr(folders, "ThreadPoolExecutor", Pool)

    def interrupt() -> None:
        online_hub.stalled.wait(10)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)  # Ctrl-C while the file comes

    helper = threading.Thread(target=interrupt)
    helper.start()
    with pytest.raises(KeyboardInterrupt):
        _fetch(tmp_path, spec)
    helper.join()
    [partial] = (tmp_path / PARTIAL_FOLDER).rglob("*.part")
    kept = partial.stat().st_size
    assert 0 < kept < len(data) and not (tmp_path / "Big" / "big.png").exists()
    report = _fetch(tmp_path, spec)
    assert (tmp_path / "Big" / "big.png").read_bytes() == data and report.resumed == 1
    assert online_hub.file_gets()[-1].range == f"bytes={kept}-" and report.bytes == len(data) - kept


def test_a_repo_that_changed_its_layout_stops_before_any_download(online_hub: FakeHub, tmp_path: Path) -> None:
    _serve(online_hub)
    spec = InputFolder("Data", "test data", "CC0", hub=HubFiles("acme/data", include=("images/*.png",),
                                                                required=("images/a.png", "images/c.png")))
    with pytest.raises(FetchError, match=r"acme/data at \w+ \(main\) does not hold images/c.png .*repo changed"):
        _fetch(tmp_path, spec)
    assert online_hub.file_gets() == [] and not (tmp_path / "Data").exists()


def test_a_path_leaving_its_folder_is_refused(online_hub: FakeHub, tmp_path: Path) -> None:
    online_hub.add_repo("acme/evil", {"../outside.txt": b"x", "ok.txt": b"y"})
    spec = InputFolder("Data", "evil", "none", hub=HubFiles("acme/evil", include=("*",)))
    with pytest.raises(FetchError, match=r"unsafe file path '\.\./outside\.txt'"):
        _fetch(tmp_path, spec)
    assert not (tmp_path / "outside.txt").exists() and online_hub.file_gets() == []


def test_a_pinned_revision_is_asked_for_by_its_commit(online_hub: FakeHub, tmp_path: Path) -> None:
    commit = online_hub.add_repo("acme/old", {"test.parquet": b"PAR1" + b"\1" * 40 + b"PAR1"}, commit="ab" * 20,
                                 revisions=())
    spec = InputFolder("Old", "old", "none", hub=HubFiles("acme/old", include=("test.parquet",), revision=commit))
    _fetch(tmp_path, spec)
    assert online_hub.count("GET", f"/api/datasets/acme/old/revision/{commit}") == 1
    missing = InputFolder("Old", "old", "none", hub=HubFiles("acme/old", include=("*",), revision="cd" * 20))
    with pytest.raises(Exception, match="Revision Not Found"):
        _fetch(tmp_path / "again", missing)
