"""The video pages of a site in headless Chromium: the player steps frames (the shown frame and the shown mask
change), keys play, step and move between expressions, overlays toggle, the expressions grid filters and sorts.
Any console error or failed request fails a test (the ``page`` fixture of ``conftest.py``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pixbench.benchmarks.mocentric import build as builder
from pixbench.benchmarks.mocentric import synthetic
from pixbench.benchmarks.mocentric.demo import demo_predictions
from pixbench.cli import main
from pixbench.predictions import write_predictions
from pixbench.references import load_reference

AWARE, LOOKS = "demo-motion-aware", "demo-appearance-only"


@dataclass(frozen=True)
class Site:
    root: Path
    reference: Any

    def data(self, key: str) -> Any:
        text = (self.root / "data" / "mocentric" / f"{key}.js").read_text(encoding="utf-8")
        match = re.fullmatch(r'pixbench\.put\("[^"]*",(.*)\);\n', text, flags=re.DOTALL)
        assert match is not None
        return json.loads(match.group(1))

    def key_of(self, model: str) -> str:
        return next(m["key"] for m in self.data("models")["models"] if m["model"] == model)


@pytest.fixture(scope="module")
def video_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The synthetic MoCentric-Bench and the demo's two video models, written by ``pixbench view``."""
    work = tmp_path_factory.mktemp("video-browser")
    raw = synthetic.write_synthetic_mevis(work / "raw")
    built = work / "MoCentric-Bench"
    builder.build(mevis_root=raw.root, keyframes=raw.keyframes, reverse_expressions=raw.reverse_expressions,
                  out_dir=built)
    reference = load_reference("mocentric", str(built))
    files = []
    for model, lines in demo_predictions(reference).items():
        path = work / f"{model}.jsonl"
        write_predictions(path, lines)
        files.append(str(path))
    assert main(["view", *files, "--data", f"mocentric={built}", "--no-judge", "--out", str(work / "site")]) == 0
    return Site(work / "site", reference)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("figure.player")
    # every model mask drawn (its sheet loaded)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('canvas.mask.pred'))
        .every(c => c.dataset.tile === '' || c.dataset.drawn === 'true')""")


def _player(page: Any, probe: str) -> dict[str, str]:
    return page.eval_on_selector(f".vstage[data-probe='{probe}']",
                                 "s => ({position: s.dataset.position, frame: s.dataset.frame, "
                                 "tile: s.querySelector('canvas.pred').dataset.tile})")


def test_the_player_steps_frames_and_the_shown_mask_changes(page, video_site, site_url, screenshot):
    expression_id = next(iter(video_site.reference.reversed))  # an expression with every probe
    row = video_site.reference.expressions[expression_id]
    length = len(row.frame_names)
    _open(page, site_url(video_site.root, "video.html", b="mocentric", id=expression_id, m=video_site.key_of(AWARE)))
    assert page.inner_text("#heading").endswith(expression_id)
    probes = page.eval_on_selector_all("figure.player", "fs => fs.map(f => f.dataset.probe)")
    assert probes == ["original", "static", "static-pair:target-left", "reversed", "reversed-pair:target-right"]
    assert _player(page, "original") == {"position": "0", "frame": "0", "tile": "0"}
    assert _player(page, "reversed")["frame"] == str(length - 1)
    assert _player(page, "static")["frame"] == str(row.keyframe)
    mask = page.locator(".vstage[data-probe='original'] canvas.pred")
    frame = page.locator(".vstage[data-probe='original'] canvas.frame")
    before_mask, before_frame = mask.screenshot(), frame.screenshot()
    page.keyboard.press("ArrowRight")
    assert _player(page, "original") == {"position": "1", "frame": "1", "tile": "1"}
    assert _player(page, "reversed")["frame"] == str(length - 2)
    assert _player(page, "static")["frame"] == str(row.keyframe)  # the still clip shows its keyframe throughout
    assert mask.screenshot() != before_mask  # the moving object's mask moved
    assert frame.screenshot() != before_frame
    page.eval_on_selector("#position", "el => { el.value = '3'; el.dispatchEvent(new Event('input')); }")
    assert _player(page, "original")["frame"] == "3"
    page.keyboard.press("ArrowLeft")
    assert _player(page, "original")["frame"] == "2"
    assert page.inner_text("#where").startswith(f"shown 3 of {length}")
    screenshot(page, "video-sample", full_page=True)


def test_keys_play_pause_and_move_between_expressions(page, video_site, site_url):
    ids = [pair[0] for pair in video_site.data("models")["expressions"]]
    _open(page, site_url(video_site.root, "video.html", b="mocentric", id=ids[1]))
    page.keyboard.press(" ")
    assert page.get_attribute("#play", "data-playing") == "true"
    page.wait_for_function("() => document.body.dataset.position !== '0'")
    page.keyboard.press(" ")
    assert page.get_attribute("#play", "data-playing") == "false"
    page.keyboard.press("j")
    page.wait_for_url(re.compile(rf"id={re.escape(ids[2])}(&|$)"))
    page.wait_for_selector("figure.player")
    page.keyboard.press("k")
    page.wait_for_url(re.compile(rf"id={re.escape(ids[1])}(&|$)"))
    page.wait_for_selector("figure.player")


def test_overlays_toggle_and_the_model_choice_redraws(page, video_site, site_url):
    expression_id = next(iter(video_site.reference.expressions))
    _open(page, site_url(video_site.root, "video.html", b="mocentric", id=expression_id, m=video_site.key_of(AWARE)))
    static = page.locator(".vstage[data-probe='static'] canvas.pred")
    aware = static.screenshot()  # the motion-aware model segments nothing in the still clip
    page.select_option("#model", video_site.key_of(LOOKS))
    page.wait_for_function("() => document.querySelector(\".vstage[data-probe='static'] canvas.pred\")"
                           ".dataset.drawn === 'true'")
    assert static.screenshot() != aware  # the appearance-only model segments the still object
    assert page.eval_on_selector("tr[data-model].current", "tr => tr.dataset.model") == video_site.key_of(LOOKS)
    page.uncheck("#show-gt")
    assert page.eval_on_selector_all("canvas.mask.gt", "cs => cs.every(c => c.hidden)")
    pred = ".vstage[data-probe='original'] canvas.pred"
    assert page.eval_on_selector(pred, "c => c.style.filter") == 'url("#line-pred")'  # outlines by default
    page.check("input[name=style][value=fill]")
    assert page.eval_on_selector(pred, "c => c.style.filter") == 'url("#fill-pred")'
    assert page.eval_on_selector(".vstage[data-probe='static'] canvas.gt", "c => c.style.filter") == \
        'url("#fill-cand")'  # the still clip's truth is what must stay empty: its own colour
    page.fill("#opacity", "30")
    page.dispatch_event("#opacity", "input")
    assert page.eval_on_selector(pred, "c => c.style.opacity") == "0.3"


def test_the_expressions_grid_filters_and_sorts(page, video_site, site_url, screenshot):
    from playwright.sync_api import expect  # here: the page fixture skips when Playwright is missing

    page.goto(site_url(video_site.root, "videos.html", b="mocentric", m=video_site.key_of(LOOKS)))
    page.wait_for_selector("#rows tr")
    rows = video_site.data(f"grid-{video_site.key_of(LOOKS)}")["rows"]
    expect(page.locator("#total")).to_have_text(str(len(rows)))  # waits for the grid's data, not a fixed time
    expect(page.locator("#count")).to_have_text(str(len(rows)))
    page.fill("#search", "box")
    expected = [r for r in rows if "box" in f"{r['id']} {r['expression']} {r['reversed'] or ''}".lower()]
    assert 0 < len(expected) < len(rows)
    expect(page.locator("#count")).to_have_text(str(len(expected)))
    page.fill("#search", "")
    page.check("#with-reversed")
    expect(page.locator("#count")).to_have_text(str(len(video_site.reference.reversed)))
    page.uncheck("#with-reversed")
    page.click("th[data-sort='reversed']")  # ascending; expressions without a reversed form last
    shown = page.eval_on_selector_all("#rows tr", "trs => trs.map(tr => tr.dataset.id)")
    values = [r["values"].get("reversed") for r in rows]
    ordered = sorted((v, k) for k, v in enumerate(values) if v is not None)
    assert shown[:len(ordered)] == [rows[k]["id"] for _, k in ordered]
    first = page.get_attribute("#rows tr a", "href")
    assert first is not None and first.startswith("video.html?b=mocentric&id=")
    screenshot(page, "video-grid")
