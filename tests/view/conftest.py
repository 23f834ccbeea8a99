"""Fixtures of the site tests (``pixbench view``): a headless Chromium driven by Playwright, pages that fail a
test on any console error, and a small image site built by the command line.

Browser:

- ``chromium_path`` (session): the Chromium to drive: ``$PIXBENCH_CHROMIUM``, else the first of
  ``chromium``, ``chromium-browser``, ``google-chrome`` on the ``PATH``; the browser tests skip, saying what to
  install, when there is none or Playwright for Python is missing (CI installs both, ``.ci/run``, and sets
  ``PIXBENCH_REQUIRE_BROWSER``, which makes them fail instead).
- ``browser`` (session): one headless Chromium for the whole run (``--no-sandbox``: CI runs as root).
- ``page`` (per test): a new page (1280 x 900) in its own context whose console errors and warnings, uncaught
  page errors and failed requests (but those aborted by leaving the page) are recorded in ``browser_log``; the
  test FAILS at teardown if any occurred (``browser_log.allow(pattern)`` lets a test expect one).
- ``site_url``: ``site_url(root, "sample.html", b="pixmmvp", id=3)`` -> the ``file://`` URL of a page of a site.
- ``screenshot``: ``screenshot(page, "index")`` saves a PNG under ``$PIXBENCH_ARTIFACTS`` (default: pytest's
  temporary folder, ``artifacts/``) and returns its path.

Site:

- ``image_site`` (session): the tiny PixMMVP and PixCV-Bench (``tiny_built``) scored and written by ``pixbench
  view`` for three models (the demo's two, one with candidates, and a model whose name and replies hold
  markup and quotes), judged by a real OpenAI-compatible server on 127.0.0.1 (``judge_server``); with it, the
  report and per-sample records that ``pixbench score`` prints for the same files, under every selection mode.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlencode

import pytest

#: Executables tried, in order, when ``$PIXBENCH_CHROMIUM`` is not set.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = ("install Debian's chromium (apt-get install chromium) or point PIXBENCH_CHROMIUM at a Chromium "
                "or Chrome executable")


# ------------------------------------------------------------------------------------------------ browser


def find_chromium() -> str | None:
    """The Chromium executable to use (see the module docstring), or None."""
    named = os.environ.get("PIXBENCH_CHROMIUM")
    if named:
        return named if Path(named).is_file() and os.access(named, os.X_OK) else None
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


def skip_browser(reason: str) -> NoReturn:
    """Skip a browser test, or fail it where the browser is required (``PIXBENCH_REQUIRE_BROWSER`` set: CI)."""
    if os.environ.get("PIXBENCH_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (PIXBENCH_REQUIRE_BROWSER is set)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable; skips the test when there is none."""
    path = find_chromium()
    if path is None:
        named = os.environ.get("PIXBENCH_CHROMIUM")
        where = f"PIXBENCH_CHROMIUM={named} is not an executable file" if named else \
            f"none of {', '.join(CHROMIUM_NAMES)} on the PATH"
        skip_browser(f"no Chromium to drive ({where}): {INSTALL_HINT}")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium for the session (Playwright's sync API)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_browser('Playwright for Python is not installed: pip install "pixbench[dev]" (or pip install '
                     "playwright; the system Chromium is used, no `playwright install` needed)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class BrowserLog:
    """What went wrong in a page: console errors and warnings, uncaught errors, failed requests (one line
    each); ``allowed`` patterns (regular expressions) are expected and not counted."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect messages matching ``pattern`` (a regular expression): they are not problems."""
        self.allowed.append(re.compile(pattern))

    def add(self, line: str) -> None:
        if not any(pattern.search(line) for pattern in self.allowed):
            self.problems.append(line)

    def check(self) -> None:
        """Fail the test if anything went wrong so far (and forget it)."""
        problems, self.problems = self.problems, []
        if problems:
            pytest.fail("the page reported problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def page(browser: Any, browser_log: BrowserLog) -> Iterator[Any]:
    """A fresh page whose console errors and warnings, page errors and failed requests fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    new_page = context.new_page()
    new_page.set_default_timeout(10_000)

    def on_console(message: Any) -> None:
        if message.type in ("error", "warning"):
            location = message.location or {}
            browser_log.add(f"console {message.type}: {message.text} ({location.get('url', '?')}:"
                            f"{location.get('lineNumber', '?')})")

    new_page.on("console", on_console)
    new_page.on("pageerror", lambda error: browser_log.add(f"page error: {error}"))
    def on_failed(request: Any) -> None:
        if request.failure != "net::ERR_ABORTED":  # cancelled by leaving the page, not a missing file
            browser_log.add(f"request failed: {request.url} ({request.failure})")

    new_page.on("requestfailed", on_failed)
    try:
        yield new_page
    finally:
        context.close()
    browser_log.check()


def file_url(root: Path, page_name: str, **query: Any) -> str:
    """The ``file://`` URL of ``page_name`` in the site at ``root``, with ``query`` (None values left out)."""
    url = (Path(root).resolve() / page_name).as_uri()
    pairs = {name: value for name, value in query.items() if value is not None}
    return f"{url}?{urlencode(pairs)}" if pairs else url


@pytest.fixture(scope="session")
def site_url() -> Callable[..., str]:
    """``site_url(root, page, **query)``: a page's ``file://`` URL (see :func:`file_url`)."""
    return file_url


def artifacts_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("PIXBENCH_ARTIFACTS") or tmp_path_factory.getbasetemp() / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``screenshot(page, name, full_page=False)``: save the page as ``<artifacts>/<name>.png``."""
    folder = artifacts_folder(tmp_path_factory)

    def save(page_: Any, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.png"
        page_.screenshot(path=str(path), full_page=full_page)
        return path

    return save


# ------------------------------------------------------------------------------------------------ image site

#: A model whose name and replies are markup, quotes and a script end tag: text, never markup, on every page.
HOSTILE_MODEL = "evil</script><script>window.pwned=1</script> \"quoted\" 'model' <b>"
HOSTILE_REPLY = '<img src="x-missing.png" onerror="window.pwned=1"><b>(B)</b> </script> & "quotes"'


def read_data_file(path: Path) -> Any:
    """The document a site's data file (``pixbench.put(key, document);``) hands to its page."""
    text = path.read_text(encoding="utf-8")
    match = re.fullmatch(r'pixbench\.put\(("(?:[^"\\]|\\.)*"),(.*)\);\n', text, flags=re.DOTALL)
    assert match is not None, f"{path}: not a data file: {text[:80]!r}"
    return json.loads(match.group(2))


def judge_reply(body: dict[str, Any]) -> str:
    """The judge server's answer: the demo's keyword rule, but "Maybe" (undetermined) to replies holding markup."""
    from pixbench.demo import keyword_judge_reply

    text = str(body["messages"][-1]["content"])
    return "Maybe" if "<img" in text else keyword_judge_reply(body["messages"])


@pytest.fixture(scope="session")
def read_data() -> Callable[[Path], Any]:
    """``read_data(path)``: the document of a site's data file (:func:`read_data_file`)."""
    return read_data_file


@dataclass(frozen=True)
class ImageSite:
    """A site of the tiny image benchmarks and what `pixbench score` prints for the same files.

    Attributes:
        root: the site's folder (`pixbench view`).
        html_root: the site `pixbench score --html` wrote for the same arguments.
        predictions: the predictions files (the order given to both commands).
        data: benchmark -> its built folder.
        report: `pixbench score --format json`'s document.
        per_sample: `pixbench score --per-sample`'s records (``--select given``, the site's setting).
        per_mode: selection mode -> the per-sample records scored with ``--select`` that mode.
        argv: the arguments both commands shared (files, ``--data``, judge).
        hostile_model, hostile_reply: the hostile model's name and its replies.
    """

    hostile_model: ClassVar[str] = HOSTILE_MODEL
    hostile_reply: ClassVar[str] = HOSTILE_REPLY

    root: Path
    html_root: Path
    predictions: tuple[Path, ...]
    data: dict[str, Path]
    report: dict[str, Any]
    per_sample: list[dict[str, Any]]
    per_mode: dict[str, list[dict[str, Any]]]
    argv: tuple[str, ...]

    def data_file(self, key: str) -> Any:
        """The document of ``data/<key>.js``."""
        return read_data_file(self.root / "data" / f"{key}.js")

    def models(self, benchmark: str) -> list[dict[str, str]]:
        """``[{"model", "key"}]`` of the benchmark's samples, in the site's order."""
        return list(self.data_file(f"{benchmark}/models")["models"])

    def key_of(self, benchmark: str, model: str) -> str:
        return next(m["key"] for m in self.models(benchmark) if m["model"] == model)

    def records(self, benchmark: str, model: str, mode: str = "given") -> dict[tuple[int, str], dict[str, Any]]:
        """(row id, probe) -> the per-sample record of ``model`` on ``benchmark``."""
        records = self.per_sample if mode == "given" else self.per_mode[mode]
        return {(int(r["id"]), r["probe"]): r for r in records if r["model"] == model and r["benchmark"] == benchmark}


def hostile_lines(reference: Any) -> list[dict[str, Any]]:
    """Lines of :data:`HOSTILE_MODEL`: replies with markup, a mask for every other row (the truth moved 2 pixels
    down on even ids, a null mask on odd ones)."""
    import numpy as np

    from pixbench.annotation import rle as rle_ops

    lines: list[dict[str, Any]] = []
    for row_id, row in reference.rows.items():
        lines.append({"benchmark": reference.benchmark, "id": row_id, "probe": "letter", "model": HOSTILE_MODEL,
                      "response": HOSTILE_REPLY})
        lines.append({"benchmark": reference.benchmark, "id": row_id, "probe": "vqa", "model": HOSTILE_MODEL,
                      "response": HOSTILE_REPLY if row_id % 3 else f"It is {row.options[0]}."})
        moved = rle_ops.encode(np.roll(rle_ops.decode(row.mask), 2, axis=0)) if row_id % 2 == 0 else None
        lines.append({"benchmark": reference.benchmark, "id": row_id, "probe": "segment", "model": HOSTILE_MODEL,
                      "mask": None if moved is None else dict(moved)})
    return lines


def write_image_predictions(data: dict[str, Path], out: Path) -> tuple[Path, ...]:
    """The demo's two image models (one file each) and the hostile model's file, on the built benchmarks."""
    from pixbench.benchmarks.demo import image_demo_predictions
    from pixbench.demo import write_demo_predictions
    from pixbench.references import load_reference

    references = [load_reference(name, str(path)) for name, path in data.items()]
    paths = write_demo_predictions([image_demo_predictions(reference) for reference in references], out)
    hostile = out / "hostile.jsonl"
    with open(hostile, "w", encoding="utf-8") as handle:
        for reference in references:
            for line in hostile_lines(reference):
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return (*paths, hostile)


def score_json(argv: list[str], tmp: Path, *extra: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`pixbench score --format json --per-sample` of ``argv``: the report and the per-sample records."""
    from pixbench.cli import main

    report, per_sample = tmp / "report.json", tmp / "per-sample.jsonl"
    code = main(["score", *argv, *extra, "--format", "json", "--output", str(report), "--per-sample", str(per_sample)])
    assert code == 0, f"pixbench score exited {code}"
    records = [json.loads(line) for line in per_sample.read_text(encoding="utf-8").splitlines() if line]
    return json.loads(report.read_text(encoding="utf-8")), records


@pytest.fixture(scope="session")
def image_site(tiny_built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageSite]:
    """See the module docstring (built once per session; read-only for tests: copy before building into it)."""
    from judge_server import running_server

    from pixbench.cli import main
    from pixbench.metrics.selection import SELECT_MODES

    work = tmp_path_factory.mktemp("image-site")
    data = dict(tiny_built)
    predictions = write_image_predictions(data, work / "predictions")
    with running_server(judge_reply, model="judge-test") as server:
        argv = [*(str(p) for p in predictions), *(f"--data={n}={p}" for n, p in data.items()),
                "--judge-base-url", server.base_url, "--judge-model", "judge-test", "--judge-retries", "0",
                "--judge-cache", str(work / "judge.sqlite")]
        assert main(["view", *argv, "--out", str(work / "site")]) == 0
        report, per_sample = score_json(argv, work, "--html", str(work / "score-html"))
        per_mode = {}
        for mode in SELECT_MODES:
            folder = work / f"select-{mode}"
            folder.mkdir()
            per_mode[mode] = score_json(argv, folder, "--select", mode)[1]
    yield ImageSite(work / "site", work / "score-html", predictions, data, report, per_sample, per_mode, tuple(argv))
