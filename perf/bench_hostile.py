"""Peak memory and wall time of pixbench on hostile inputs, one process each: scoring, the video path and
the served path.

- ``image``: ``pixbench score`` on damaged predictions files for PixMMVP (annotations only, real image
  sizes, from ``../shared/data``): far-away and dense polygons, huge RLE strings, a 12000x12000 PNG,
  /dev/zero, a FIFO, 1 MB lines of every mask form, deep nesting, a JSON array.
- ``video``: ``pixbench score`` / ``convert --from mevis-pngs`` on MoCentric-Bench lines (a synthetic MeViS
  at 720x1280): RGBA masks from ``matplotlib.pyplot.imsave`` (must score J = 100), JPEG bytes named ``.png``,
  a 4,000-character ``png_dir``, a 12000x12000 RGBA PNG, a 6.5 MB RLE line, wrong frame counts.
- ``served``: ``pixbench run`` (PixMMVP with stand-in images of the real sizes, tiny SAM) against a local
  server answering hostile replies (100,000 nested ``[``, 10,000 boxes, a lone surrogate, 20 MB, the API
  key echoed), a server that accepts connections and never answers (default settings), and outputs it must
  not damage (a user's unterminated file, another model's lines, a second process on the same ``OUT``).

Every case must end as expected (refused cleanly with exit 1 and the file named, or done with exit 0 for
the cases that are only expensive), without a traceback or a raw warning, within its time and memory.

    python perf/bench_hostile.py [--data ../shared/data] [--keep DIR] [--only image video served]

Targets (2-core machine): image and video cases under 1 GB and 5 s (30 s for whole valid video files);
served cases under 1.5 GB (torch and the tiny SAM alone take about 1.1 GB) and 60 s (the silent server:
under 120 s with default settings). The measuring process imports nothing heavy: on
Linux a child starts with its parent's peak RSS, which would hide the child's own. ``served`` needs torch and
segment-anything (the tiny SAM).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_SECONDS, TARGET_MB = 5.0, 1024.0
#: `pixbench run` with the segment probe holds torch and SAM: about 1.1 GB before any reply is read.
SERVED_MB = 1536.0
#: Cases that are valid, only expensive: they must be scored (exit 0) within the same limits.
ACCEPTED = {"polygons_at_budget"}


def _line(**fields: object) -> str:
    return json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "segment", **fields})


def cases(folder: Path, height: int, width: int) -> dict[str, Callable[[], Path]]:
    """Name -> a function writing that case's predictions file (or naming a special file)."""
    import numpy as np

    rng = np.random.default_rng(0)

    def write(name: str, text: str) -> Path:
        path = folder / f"{name}.jsonl"
        path.write_text(text + "\n", encoding="utf-8")
        return path

    def polygon(n: int, spread: float) -> list[float]:
        return [round(float(v), 1) for v in rng.uniform(-spread, spread, size=2 * n)]

    def far_1000() -> Path:  # the 15 kB line of the report: far-away vertices, a size that is not the image's
        return write("far_1000", _line(mask={"size": [height * 20, width * 20],
                                             "polygons": [polygon(1000, 20 * width)]}))

    def far_10000() -> Path:
        return write("far_10000", _line(mask={"size": [height, width], "polygons": [polygon(10_000, 1e7)]}))

    def dense_300k() -> Path:  # valid size, every vertex inside the image, 300,000 of them
        points = np.stack([rng.uniform(0, width, 300_000), rng.uniform(0, height, 300_000)], axis=1)
        return write("dense_300k", _line(mask={"size": [height, width],
                                               "polygons": [np.round(points, 1).ravel().tolist()]}))

    def polygons_at_budget() -> Path:  # in bounds, just under the perimeter budget: rasterised, then scored
        points = np.stack([rng.uniform(-width, 2 * width, 400_000), rng.uniform(-height, 2 * height, 400_000)], 1)
        steps = np.abs(np.diff(points, axis=0, append=points[:1])).max(axis=1)
        count = int(np.searchsorted(np.cumsum(steps), 3_900_000))  # closing edge included below the budget
        chosen = np.round(points[:max(count - 2, 3)], 1)
        return write("polygons_at_budget", _line(mask={"size": [height, width], "polygons": [chosen.ravel().tolist()]}))

    def polygons_1mb() -> Path:  # many in-bounds polygons of moderate size in a 1 MB line
        parts = [polygon(50, max(height, width)) for _ in range(1_600)]
        return write("polygons_1mb", _line(mask={"size": [height, width], "polygons": parts}))

    def rle_50mb() -> Path:
        return write("rle_50mb", _line(mask={"size": [height, width], "counts": "0" * 50_000_000}))

    def rle_1mb() -> Path:
        return write("rle_1mb", _line(mask={"size": [height, width], "counts": "1" * 1_000_000}))

    def rle_1mb_big_canvas() -> Path:  # no ground-truth size can be claimed around: one far bigger
        return write("rle_1mb_big_canvas", _line(mask={"size": [16_000, 16_000], "counts": "1" * 1_000_000}))

    def counts_list_1mb() -> Path:
        return write("counts_list_1mb", _line(mask={"size": [height, width], "counts": [1] * 330_000}))

    def candidates_1mb() -> Path:
        candidate = {"mask": {"size": [height, width], "counts": "1" * 1_000}, "phrase": "x"}
        return write("candidates_1mb", _line(probe="vqa", response="x", candidates=[candidate] * 900))

    def png_12000() -> Path:
        from PIL import Image

        masks = folder / "masks"
        masks.mkdir(exist_ok=True)
        Image.new("1", (12_000, 12_000)).save(masks / "huge.png")
        return write("png_12000", _line(mask={"png": "masks/huge.png"}))

    def png_fifo() -> Path:
        fifo = folder / "masks" / "fifo.png"
        fifo.parent.mkdir(exist_ok=True)
        if not fifo.exists():
            os.mkfifo(fifo)
        return write("png_fifo", _line(mask={"png": "masks/fifo.png"}))

    def deep_1mb() -> Path:
        return write("deep_1mb", '{"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": '
                     + "[" * 500_000 + "]" * 500_000 + "}")

    def huge_int() -> Path:
        return write("huge_int", '{"benchmark": "pixmmvp", "probe": "segment", "id": ' + "7" * 1_000_000 + "}")

    def dev_zero() -> Path:
        return Path("/dev/zero")

    def json_array() -> Path:  # a pretty-printed JSON array: one problem, not one per line
        lines = [json.loads(_line(id=k, mask=None)) for k in range(1, 301)]
        path = folder / "json_array.json"
        path.write_text(json.dumps(lines, indent=2) + "\n", encoding="utf-8")
        return path

    def png_12000_rgba() -> Path:  # Pillow's DecompressionBombWarning must not reach the user
        from PIL import Image

        (folder / "masks").mkdir(exist_ok=True)
        Image.new("RGBA", (12_000, 12_000)).save(folder / "masks" / "huge_rgba.png")
        return write("png_12000_rgba", _line(mask={"png": "masks/huge_rgba.png"}))

    return {f.__name__: f for f in (far_1000, far_10000, dense_300k, polygons_at_budget,
                                    polygons_1mb, rle_50mb, rle_1mb,
                                    rle_1mb_big_canvas, counts_list_1mb, candidates_1mb, png_12000, png_fifo,
                                    deep_1mb, huge_int, dev_zero, json_array, png_12000_rgba)}


def measure(command: list[str], timeout: float = 180.0, env: dict[str, str] | None = None
            ) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MB, exit status, stderr) of one process."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode("utf-8", errors="replace")
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), text


@dataclass
class Case:
    """One hostile input: the command, what must come of it, and (optionally) a check of what it left."""

    name: str
    command: list[str]
    expected: int = 1
    named: str = ""  # a text the error must contain (the file)
    seconds: float = TARGET_SECONDS
    mb: float = TARGET_MB
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[], str] | None = None  # "" when what the case left is right, else why not
    setup: Callable[[], object] | None = None
    size_mb: float = 0.0


def run_cases(title: str, cases_to_run: list[Case]) -> bool:
    """Run and print every case; True when all met their targets."""
    print(f"\n== {title}")
    print(f"{'case':24} {'file MB':>8} {'wall s':>7} {'peak MB':>8} {'exit':>5}  message")
    missed = False
    for case in cases_to_run:
        if case.setup is not None:
            case.setup()
        wall, peak, status, err = measure(case.command, env=case.env)
        problems = []
        if status != case.expected:
            problems.append(f"exit {status}, expected {case.expected}")
        if "Traceback" in err or "Warning" in err:
            problems.append("a traceback or raw warning on stderr")
        if case.named and case.named not in err:
            problems.append(f"the error does not name {case.named}")
        if wall >= case.seconds or peak >= case.mb:
            problems.append("over time or memory")
        if case.check is not None and (why := case.check()):
            problems.append(why)
        missed |= bool(problems)
        message = next((line for line in err.splitlines() if line.startswith("error: ")), "")
        message = message.replace("error: ", "").replace(case.named, "").strip() if message else "(done)"
        print(f"{case.name:24} {case.size_mb:8.1f} {wall:7.2f} {peak:8.0f} {status:5d}  {message[:80]}"
              + ("" if not problems else "   <- MISSED: " + "; ".join(problems)))
    return not missed


def prepare(data: Path, work: Path) -> int:
    """Build the ground truth and write every image case's file; their paths go to ``cases.json``."""
    from pixbench.benchmarks.pixmmvp import build as pixmmvp
    from pixbench.references import load_reference

    work.mkdir(parents=True, exist_ok=True)
    built = work / "PixMMVP"
    if not (built / "build_summary.json").exists():
        pixmmvp.build(annotations_dir=data / "pixmmvp", out_dir=built, with_images=False)
    row = load_reference("pixmmvp", str(built)).rows[1]
    paths = {name: str(make()) for name, make in cases(work, row.height, row.width).items()}
    (work / "cases.json").write_text(json.dumps({"height": row.height, "width": row.width, "cases": paths}))
    return 0


VIDEO_SIZE = (720, 1280)
#: Cases that read a whole valid MoCentric file (about 100 PNG frames of 720x1280) before they end.
WORK_SECONDS = 30.0


def prepare_video(work: Path) -> int:
    """A synthetic MeViS at 720x1280 built as MoCentric-Bench, and the video cases' files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    from pixbench.annotation import rle
    from pixbench.benchmarks.mocentric import build as mocentric
    from pixbench.benchmarks.mocentric.synthetic import write_synthetic_mevis
    from pixbench.references import load_reference

    work.mkdir(parents=True, exist_ok=True)
    built = work / "MoCentric-Bench"
    if not (built / "build_summary.json").exists():
        raw = write_synthetic_mevis(work / "raw", size=VIDEO_SIZE)
        mocentric.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                        out_dir=built)
    reference = load_reference("mocentric", str(built))
    rows = list(reference.expressions.values())
    imsave, jpeg = work / "imsave", work / "jpeg"
    lines, jpeg_lines = [], []
    for row in rows:  # every expression, probe original, masks saved by plt.imsave (RGBA, opaque alpha)
        folder = Path(row.video_id, row.id.removeprefix(f"{row.video_id}_"))  # the published PRED_ROOT layout
        for root in (imsave, jpeg):
            (root / folder).mkdir(parents=True, exist_ok=True)
        for t, name in enumerate(row.frame_names):
            mask = rle.decode(row.masks[t]).astype(np.uint8)
            plt.imsave(imsave / folder / f"{name}.png", mask, cmap="gray", vmin=0, vmax=1)
            target = jpeg / folder / f"{name}.png"
            if row is rows[0] and t == 0:  # JPEG bytes under a .png name
                Image.fromarray(mask * 255).save(target, format="JPEG")
            else:
                plt.imsave(target, mask, cmap="gray", vmin=0, vmax=1)
        line = {"benchmark": "mocentric", "id": row.id, "probe": "original", "model": "m"}
        lines.append({**line, "masks": {"png_dir": f"imsave/{folder}"}})
        jpeg_lines.append({**line, "masks": {"png_dir": f"jpeg/{folder}"}})
    first = rows[0]
    huge = work / "huge"
    huge.mkdir(exist_ok=True)
    for t, name in enumerate(first.frame_names):
        if t == 0:
            Image.new("RGBA", (12_000, 12_000)).save(huge / f"{name}.png")
        else:
            Image.new("L", (VIDEO_SIZE[1], VIDEO_SIZE[0])).save(huge / f"{name}.png")
    base = {"benchmark": "mocentric", "id": first.id, "probe": "original", "model": "m"}
    frames = len(first.frame_names)
    files = {
        "rgba_imsave": lines,
        "jpeg_named_png": jpeg_lines,
        "png_dir_4000_chars": [{**base, "masks": {"png_dir": "d" * 4000}}],
        "png_12000_rgba": [{**base, "masks": {"png_dir": "huge"}}],
        "rle_6mb_line": [{**base, "masks": [{"size": list(VIDEO_SIZE), "counts": "1" * 6_500_000}]
                          + [None] * (frames - 1)}],
        "wrong_frame_count": [{**base, "masks": [None] * (frames + 3)}],
    }
    paths = {}
    for name, content in files.items():
        path = work / f"{name}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in content), encoding="utf-8")
        paths[name] = str(path)
    (work / "video_cases.json").write_text(json.dumps({"cases": paths, "pngs": str(imsave)}))
    return 0


def video_cases(work: Path) -> list[Case]:
    info = json.loads((work / "video_cases.json").read_text())
    built = work / "MoCentric-Bench"
    cli = [sys.executable, "-m", "pixbench.cli"]
    score = [*cli, "score", "--data", f"mocentric={built}"]
    out: list[Case] = []
    for name, path in info["cases"].items():
        size = Path(path).stat().st_size / 1e6
        if name == "rgba_imsave":
            report = work / "rgba_imsave.report.json"

            def perfect(report: Path = report) -> str:
                (result,) = json.loads(report.read_text())["results"]
                j = result["metrics"]["J"]
                return "" if j == 100.0 else f"J = {j}, expected 100 (RGBA read as the evaluator reads it)"

            out.append(Case(name, [*score, path, "--format", "json", "--output", str(report)], expected=0,
                            check=perfect, size_mb=size, seconds=WORK_SECONDS))
        else:  # the JPEG is found among ~100 real frames read first: the work of a valid file
            out.append(Case(name, [*score, path], named=path, size_mb=size,
                            seconds=WORK_SECONDS if name == "jpeg_named_png" else TARGET_SECONDS))
    converted = work / "converted.jsonl"
    out.append(Case("convert_rgba_imsave", [*cli, "convert", "--from", "mevis-pngs", info["pngs"], "--data",
                                            str(built), "--probe", "original", "--model", "m", "--out",
                                            str(converted), "--force"], expected=0, seconds=WORK_SECONDS))
    return out


# ------------------------------------------------------------------------------------------------ served

SECRET = "sk-bench-hostile-0123456789"
#: model name -> the reply the hostile server gives it
REPLIES = {
    "nested": lambda: "[" * 100_000,
    "boxes_10k": lambda: json.dumps([{"bbox_2d": [k % 50, k % 40, k % 50 + 30, k % 40 + 20], "label": "x"}
                                     for k in range(10_000)]),
    "surrogate": lambda: 'A \ud800 [{"bbox_2d": [1, 2, 30, 40]}]',
    "huge_20mb": lambda: "A" + "x" * 20_000_000,
    "key_echo": lambda: f"A. (your key is {SECRET}) " + '[{"bbox_2d": [1, 2, 30, 40]}]',
}


def serve(port_file: Path) -> int:
    """The hostile server (a child process): the reply is chosen by the request's model name."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from judge_server import running_server

    with running_server(lambda body: REPLIES[str(body.get("model"))]()) as server:
        port_file.write_text(server.base_url)
        while True:
            time.sleep(3600)


def prepare_served(data: Path, work: Path) -> int:
    """PixMMVP with stand-in images of the real sizes, and a tiny segment-anything checkpoint."""
    from pixbench.baselines.tiny import write_tiny_sam_checkpoint
    from pixbench.benchmarks.pixmmvp import build as pixmmvp
    from pixbench.benchmarks.pixmmvp.synthetic import write_mmvp_release

    work.mkdir(parents=True, exist_ok=True)
    built = work / "PixMMVP-images"
    if not (built / "build_summary.json").exists():
        release = write_mmvp_release(data / "pixmmvp", work / "mmvp-release")
        pixmmvp.build(annotations_dir=data / "pixmmvp", out_dir=built, mmvp_dir=release)
    write_tiny_sam_checkpoint(work / "tiny_sam.pth")
    return 0


def served_cases(work: Path, base_url: str, silent_url: str) -> list[Case]:
    built, sam = work / "PixMMVP-images", work / "tiny_sam.pth"

    def run(model: str, out: Path, *extra: str, url: str = base_url, probes: tuple[str, ...] = ("segment",)
            ) -> list[str]:
        return [sys.executable, "-m", "pixbench.cli", "run", "--base-url", url, "--model", model,
                "--benchmark", "pixmmvp", "--data", str(built), "--probe", *probes, "--sam-checkpoint", str(sam),
                "--sam-type", "tiny", "--box-format", "frame-pixels", "--out", str(out), *extra]

    def fresh(out: Path, content: bytes | None = None) -> Callable[[], None]:
        def setup() -> None:
            for path in out.parent.glob(out.name + "*"):
                path.unlink()
            if content is not None:
                out.write_bytes(content)
        return setup

    def unchanged(out: Path, content: bytes) -> Callable[[], str]:
        return lambda: "" if out.read_bytes() == content else f"{out.name} was changed"

    def no_key(out: Path) -> Callable[[], str]:
        def check() -> str:
            leaked = [p.name for p in out.parent.glob(out.name + "*") if SECRET.encode() in p.read_bytes()]
            return f"the key is in {leaked}" if leaked else ""
        return check

    def short_lines(out: Path) -> Callable[[], str]:
        def check() -> str:
            longest = max((len(line) for line in out.read_bytes().splitlines()), default=0)
            return "" if 0 < longest < 1_000_000 else f"longest line {longest:,} bytes"
        return check

    cases: list[Case] = []

    def case(name: str, command: list[str], **kwargs: Any) -> None:
        cases.append(Case(name, command, **{"mb": SERVED_MB, "seconds": 60.0, **kwargs}))

    quick = ("--limit", "4", "--retries", "0")
    for model in ("nested", "boxes_10k", "surrogate"):
        out = work / f"{model}.jsonl"
        probes = ("letter", "vqa", "segment") if model == "surrogate" else ("segment",)
        case(model, run(model, out, *quick, probes=probes), expected=0, setup=fresh(out))
    out = work / "huge.jsonl"
    case("huge_20mb_reply", run("huge_20mb", out, *quick, probes=("letter",)), expected=0, setup=fresh(out),
         check=short_lines(out))
    out = work / "key.jsonl"
    keyed = base_url.replace("http://", f"http://user:{SECRET}@")
    case("key_echo_and_url", run("key_echo", out, *quick, url=keyed, probes=("letter", "segment")), expected=0,
         setup=fresh(out), env={"OPENAI_API_KEY": SECRET}, check=no_key(out))
    out = work / "silent.jsonl"
    case("silent_server_defaults", run("m", out, "--limit", "20", url=silent_url, probes=("letter",)),
         named=silent_url, seconds=120.0, setup=fresh(out))
    for name, content in (("user_unterminated", b"a\nb"),
                          ("other_models_lines", b'{"benchmark": "pixmmvp", "id": 1, "probe": "letter", '
                                                 b'"model": "other", "response": "A"}\n')):
        out = work / f"{name}.jsonl"
        case(name, run("key_echo", out, *quick, probes=("letter",)), named=str(out), setup=fresh(out, content),
             check=unchanged(out, content))
    locked = work / "locked.jsonl"
    holder: dict[str, int] = {}

    def hold_lock() -> None:
        import fcntl

        fresh(locked)()
        fd = os.open(f"{locked}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": "bench holder", "started": time.time()}).encode())
        holder["fd"] = fd

    case("second_process_same_out", run("key_echo", locked, *quick, probes=("letter",)), named=f"pid {os.getpid()}",
         setup=hold_lock, check=lambda: "" if not locked.exists() else "it wrote OUT")
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--only", nargs="+", choices=("image", "video", "served"),
                        default=["image", "video", "served"])
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # children that write the files
    parser.add_argument("--prepare-video", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare-served", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        return prepare(args.data, args.prepare)
    if args.prepare_video:
        return prepare_video(args.prepare_video)
    if args.prepare_served:
        return prepare_served(args.data, args.prepare_served)
    if args.serve:
        return serve(args.serve)
    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-bench-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, __file__, "--data", str(args.data)]
    ok = True
    # files are written by child processes: a forked process starts with its parent's peak RSS on Linux
    if "image" in args.only:
        subprocess.run([*me, "--prepare", str(work)], check=True)
        built = work / "PixMMVP"
        sizes = json.loads((work / "cases.json").read_text())
        score = [sys.executable, "-m", "pixbench.cli", "score", "--no-judge", "--data", f"pixmmvp={built}"]
        image = [Case(name, [*score, where], expected=0 if name in ACCEPTED else 1,
                      named="" if name in ACCEPTED else where,
                      size_mb=Path(where).stat().st_size / 1e6 if Path(where).is_file() else 0.0)
                 for name, where in sizes["cases"].items()]
        ok &= run_cases(f"image: pixbench score (PixMMVP, row 1 is {sizes['height']} x {sizes['width']})", image)
    if "video" in args.only:
        subprocess.run([*me, "--prepare-video", str(work / "video")], check=True)
        ok &= run_cases(f"video: MoCentric-Bench at {VIDEO_SIZE[0]}x{VIDEO_SIZE[1]}", video_cases(work / "video"))
    if "served" in args.only:
        served = work / "served"
        subprocess.run([*me, "--prepare-served", str(served)], check=True)
        port_file = served / "server_url"
        port_file.unlink(missing_ok=True)
        server = subprocess.Popen([*me, "--serve", str(port_file)])
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(1024)  # accepts connections (the kernel's backlog) and never answers
        try:
            while not port_file.exists():
                time.sleep(0.1)
            silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
            ok &= run_cases("served: pixbench run (PixMMVP, stand-in images of the real sizes, tiny SAM)",
                            served_cases(served, port_file.read_text(), silent_url))
        finally:
            server.kill()
            silent.close()
    print("\ntarget: each case as expected (refused with exit 1 naming the file, or done), no traceback or raw "
          f"warning, under its time (image/video {TARGET_SECONDS:.0f} s, {WORK_SECONDS:.0f} s for whole valid video "
          f"files, served 60 s, silent server 120 s) and memory ({TARGET_MB:.0f} MB, served {SERVED_MB:.0f} MB): "
          + ("ok" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
