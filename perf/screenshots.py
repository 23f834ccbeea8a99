"""Regenerate the README's screenshots of ``pixbench view`` (``docs/screenshots/``) from the demo.

Runs ``pixbench demo`` into a temporary folder, writes the site of its predictions files (the score command
the demo prints, as ``pixbench view``, no judge; PixMMVP, PixCV-Bench and MoCentric-Bench), opens it from
``file://`` in headless Chromium at 1200 pixels wide and saves:

- ``index.png``: the top of the index (the leaderboard and results tables);
- ``sample.png``: a PixMMVP sample page (the image, ground truth and a model's mask, its candidates);
- ``video.png``: the first expression of a video benchmark's grid (only when the site has video pages).

Each PNG is reduced to an adaptive palette of 256 colours and optimised (each well under 300 kB).

    python perf/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1200, 860
LIMIT = 300_000
SCORE_LINE = "score them yourself: "


def run(*argv: str, cwd: Path) -> str:
    """``pixbench ARGV`` with this tree first on the path; its output."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pixbench.cli", *argv], cwd=cwd, env=env, check=True,
                          stdout=subprocess.PIPE, text=True)
    return done.stdout


def benchmarks_of(path: Path) -> set[str]:
    """The benchmarks a predictions file has lines of."""
    return {json.loads(line)["benchmark"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def build_site(work: Path, benchmarks: set[str]) -> Path:
    """The demo's folders and predictions, and the site of those of ``benchmarks`` (``work / "site"``): the
    command the demo prints to score its files, as ``pixbench view``, less the other benchmarks' files."""
    printed = run("demo", "--out", str(work / "demo"), cwd=work)
    line = next(line for line in printed.splitlines() if line.startswith(SCORE_LINE))
    argv = shlex.split(line.removeprefix(SCORE_LINE))
    if argv[:2] != ["pixbench", "score"]:
        raise SystemExit(f"unexpected demo output: {line}")
    kept: list[str] = []
    words = iter(argv[2:])
    for word in words:
        if word == "--data":
            value = next(words)
            if value.split("=", 1)[0] in benchmarks:
                kept += [word, value]
        elif word.endswith(".jsonl"):
            if benchmarks_of(Path(word)) <= benchmarks:
                kept.append(word)
        else:
            kept.append(word)
    run("view", *kept, "--out", str(work / "site"), "--title", "pixbench demo", cwd=work)
    return work / "site"


def optimised(png: bytes) -> bytes:
    """The screenshot with an adaptive 256-colour palette, optimised."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buffer = io.BytesIO()
        reduced.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def shoot(page: Any, out: Path, name: str) -> None:
    data = optimised(page.screenshot(clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT}))
    path = out / f"{name}.png"
    path.write_bytes(data)
    print(f"wrote {path} ({len(data) / 1e3:.0f} kB){'  OVER 300 kB' if len(data) > LIMIT else ''}")


def screenshots(site: Path, out: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    from pixbench.view.layout import slug

    base = site.resolve().as_uri()
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.goto(f"{base}/index.html")
        shoot(page, out, "index")
        page.goto(f"{base}/sample.html?b=pixmmvp&id=1&m={slug('demo-attend-segment')}")
        page.wait_for_selector("ol.candidates li")
        page.wait_for_function("() => Array.from(document.querySelectorAll('#stage img')).every("
                               "i => i.hidden || (i.complete && i.naturalWidth > 0))")
        shoot(page, out, "sample")
        if (site / "videos.html").is_file():
            page.goto(f"{base}/videos.html?b=mocentric")
            link = page.locator("a[href*='video.html']").first
            link.wait_for()
            link.click()
            page.wait_for_load_state("load")
            page.wait_for_timeout(1000)  # the player's first frames
            shoot(page, out, "video")
        else:
            print("no video pages in this site: video.png left as it is")
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("PIXBENCH_CHROMIUM") or shutil.which("chromium"))
    parser.add_argument("--keep", type=Path, help="build the demo and its site here and keep them")
    parser.add_argument("--benchmarks", default="pixmmvp,pixcvbench,mocentric",
                        help="the demo's benchmarks the site shows (default: pixmmvp,pixcvbench,mocentric)")
    args = parser.parse_args()
    if not args.chromium:
        parser.error("no Chromium found: install chromium or pass --chromium")
    work = args.keep or Path(tempfile.mkdtemp(prefix="pixbench-screenshots-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        screenshots(build_site(work.resolve(), set(args.benchmarks.split(","))), args.out, args.chromium)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
