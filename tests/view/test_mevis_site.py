"""``pixbench view`` on MeViS: per expression its version's native frames as a player (MoCentric-Bench's players,
drawn through MeViS's clips), and a grid of the expressions per model.

Built from the synthetic release (both versions) with real predictions files: two models on v2 (``tracker``
loses the object in the last quarter of the frames, answers a no-target expression with nothing and has no line
for the first expression; ``greedy`` segments every target right and an object of the video for a no-target
expression) and one on v1 (the truth 3 pixels to the right), scored under the official protocol and, the two v2
models, under ``--protocol lmms-eval --fps 3``. Checked against the build's rows, the lines' masks and `pixbench
score --per-sample`'s records, then in headless Chromium (any console error or failed request fails a test: the
``page`` fixture of ``conftest.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.benchmarks.mevis import build as mevis
from pixbench.benchmarks.mevis.protocols import resampled_frames
from pixbench.benchmarks.mevis.synthetic import write_synthetic_release
from pixbench.cli import main
from pixbench.predictions import Prediction, write_predictions
from pixbench.references import load_reference
from pixbench.view.media import display_size
from pixbench.view.video_plan import shown_positions

TRACKER, GREEDY, SHIFTED = "tracker", "greedy", "shifted-v1"


def read_data(path: Path) -> Any:
    """The document a data file hands to ``pixbench.put``."""
    match = re.fullmatch(r'pixbench\.put\("[^"]*",(.*)\);\n', path.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert match is not None, path
    return json.loads(match.group(1))


def decode_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L")) > 127


def tile(sheet: np.ndarray, k: int, columns: int, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    row, column = divmod(k, columns)
    return sheet[row * height:(row + 1) * height, column * width:(column + 1) * width]


def resized(mask: Any, size: tuple[int, int]) -> np.ndarray:
    if mask is None:
        return np.zeros(size, dtype=bool)
    return rle_ops.decode(rle_ops.resize_nearest(mask, *size)).astype(bool)


@dataclass(frozen=True)
class MevisSite:
    root: Path
    reference: Any
    lines: dict[tuple[str, str], Prediction]
    records: dict[tuple[str, str], dict[str, Any]]

    def data(self, key: str) -> Any:
        return read_data(self.root / "data" / "mevis" / f"{key}.js")

    def key_of(self, model: str) -> str:
        return next(m["key"] for m in self.data("models")["models"] if m["model"] == model)

    def expression(self, expression_id: str) -> Any:
        return self.data(f"exp-{dict(self.data('models')['expressions'])[expression_id]}")

    def grid(self, model: str) -> Any:
        return self.data(f"grid-{self.key_of(model)}")


def _lines(reference: Any) -> dict[str, list[Prediction]]:
    v1, v2 = reference.rows_for("v1"), reference.rows_for("v2")
    first_target = {}
    for row in v2.values():
        if not row.no_target:
            first_target.setdefault(row.video_id, row)
    out: dict[str, list[Prediction]] = {TRACKER: [], GREEDY: [], SHIFTED: []}
    for k, (row_id, row) in enumerate(v2.items()):
        kept = -(-3 * len(row.masks) // 4)
        lost = [*row.masks[:kept], *[None] * (len(row.masks) - kept)]
        if k:  # the first expression has no line of the tracker
            out[TRACKER].append(Prediction(benchmark="mevis", id=row_id, probe="v2", model=TRACKER,
                                           frames=tuple([None] * len(row.masks) if row.no_target else lost)))
        greedy = first_target[row.video_id].masks if row.no_target else row.masks
        out[GREEDY].append(Prediction(benchmark="mevis", id=row_id, probe="v2", model=GREEDY, frames=tuple(greedy)))
    for row_id, row in v1.items():
        moved = tuple(rle_ops.encode(np.roll(rle_ops.decode(m), 3, axis=1)) for m in row.masks)
        out[SHIFTED].append(Prediction(benchmark="mevis", id=row_id, probe="v1", model=SHIFTED, frames=moved))
    return out


def _site(work: Path, built: Path, reference: Any, models: tuple[str, ...], *extra: str) -> MevisSite:
    files, lines = [], {}
    for model, predictions in _lines(reference).items():
        if model not in models:
            continue
        path = work / f"{model}.jsonl"
        write_predictions(path, predictions)
        files.append(str(path))
        lines.update(((model, str(p.id)), p) for p in predictions)
    argv = [*files, "--data", f"mevis={built}", "--no-judge", *extra]
    assert main(["view", *argv, "--out", str(work / "site")]) == 0
    per_sample = work / "per-sample.jsonl"
    assert main(["score", *argv, "--format", "json", "--output", str(work / "report.json"),
                 "--per-sample", str(per_sample)]) == 0
    records = [json.loads(line) for line in per_sample.read_text(encoding="utf-8").splitlines() if line]
    return MevisSite(work / "site", reference, lines, {(r["model"], r["id"]): r for r in records})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = write_synthetic_release(tmp_path_factory.mktemp("mevis-raw") / "mevis")
    out = tmp_path_factory.mktemp("mevis") / "MeViS"
    mevis.build(mevis_root=raw.root, out_dir=out)
    return out


@pytest.fixture(scope="module")
def official(built: Path, tmp_path_factory: pytest.TempPathFactory) -> MevisSite:
    reference = load_reference("mevis", str(built))
    return _site(tmp_path_factory.mktemp("mevis-official"), built, reference, (TRACKER, GREEDY, SHIFTED))


@pytest.fixture(scope="module")
def lmms(built: Path, tmp_path_factory: pytest.TempPathFactory) -> MevisSite:
    reference = load_reference("mevis", str(built))
    return _site(tmp_path_factory.mktemp("mevis-lmms"), built, reference, (TRACKER, GREEDY),
                 "--protocol", "lmms-eval", "--fps", "3")


def _dropped_id(site: MevisSite) -> str:
    return next(iter(site.reference.rows_for("v2")))


# ------------------------------------------------------------------ what is there


def test_each_models_grid_lists_every_expression_of_its_version_with_its_jf(official):
    v1, v2 = official.reference.rows_for("v1"), official.reference.rows_for("v2")
    models = official.data("models")
    assert [pair[0] for pair in models["expressions"]] == [*v1, *(i for i in v2 if i not in v1)]
    assert [c["key"] for c in models["columns"]] == ["v1", "v2"]
    assert (official.root / "videos.html").is_file() and "videos.html?b=mevis" in \
        (official.root / "index.html").read_text(encoding="utf-8")
    for model, version, rows in ((TRACKER, "v2", v2), (GREEDY, "v2", v2), (SHIFTED, "v1", v1)):
        grid = official.grid(model)
        assert [c["header"] for c in grid["columns"]] == [f"{version} J&F"]  # one model's lines answer one version
        # every expression of the version, in the site's order (v1's ids, then those only v2 has)
        assert [row["id"] for row in grid["rows"]] == [i for i, _ in models["expressions"] if i in rows]
        for row in grid["rows"]:
            record = official.records[(model, row["id"])]
            assert row["values"] == {version: record["JF"]}
            assert row["missing"] == ([version] if record["missing"] else [])
            assert "dropped" not in row and "reversed" not in row  # official: no line scores 0; no reversed form
            expected = {"target": record["target"], **({"type": record["type"]} if record["type"] else {})}
            assert row["tags"] == expected
            assert row["expression"] == rows[row["id"]].expression
            assert (official.root / row["thumb"]).is_file() and (official.root / row["gt_thumb"]).is_file()
    missing = next(row for row in official.grid(TRACKER)["rows"] if row["id"] == _dropped_id(official))
    assert missing["missing"] == ["v2"] and missing["values"] == {"v2": 0.0}  # official: scored 0


def test_a_player_shows_the_native_frames_the_truth_and_each_models_masks(official):
    keys = {m["key"]: m["model"] for m in official.data("models")["models"]}
    checked = set()
    for expression_id, _ in official.data("models")["expressions"]:
        document = official.expression(expression_id)
        assert "reversed_expression" not in document and document["keyframe"] is None
        versions = [v for v in ("v1", "v2") if expression_id in official.reference.rows_for(v)]
        assert [spec["key"] for spec in document["probes"]] == versions  # a shared id: each version's own player
        for spec in document["probes"]:
            row = official.reference.rows_for(spec["probe"])[expression_id]
            length = len(row.frame_names)
            display = display_size(row.height, row.width, 480)
            assert document["positions"] == shown_positions(length, 48) == list(range(length))
            assert spec["target_frames"] == document["positions"] and spec["other_frames"] is None
            assert spec["names"] == list(row.frame_names)
            assert spec["canvas"] == [row.height, row.width] and spec["display"] == list(display)
            assert spec["expression"] == row.expression and spec["layout"] is None
            truth = decode_png(official.root / spec["gt"]["src"])
            for k, frame in enumerate(spec["gt"]["frames"]):
                shown = tile(truth, k, spec["gt"]["columns"], display)
                assert np.array_equal(shown, resized(row.masks[frame], display))
            for key, model in document["models"].items():
                entry = model["probes"].get(spec["key"])
                if entry is None:
                    continue
                record = official.records[(keys[key], expression_id)]
                assert record["probe"] == spec["probe"]
                assert entry["values"] == {"J": record["J"], "F": record["F"], "JF": record["JF"]}
                assert entry["J_t"] == record["J_t"] and entry["F_t"] == record["F_t"]
                assert entry["missing"] is record["missing"] and "dropped" not in entry
                if record["missing"]:
                    assert "mask" not in entry
                    continue
                line = official.lines[(keys[key], expression_id)]
                sheet = decode_png(official.root / entry["mask"]["src"])
                for i, p in enumerate(document["positions"]):
                    assert np.array_equal(tile(sheet, i, entry["mask"]["columns"], display),
                                          resized(line.frames[p], display)), (expression_id, key, i)
                checked.add(spec["probe"])
    assert checked == {"v1", "v2"}


def test_a_no_target_expression_shows_its_empty_truth(official):
    no_target = [i for i, row in official.reference.rows_for("v2").items() if row.no_target]
    assert no_target
    for expression_id in no_target:
        document = official.expression(expression_id)
        spec = document["probes"][-1]
        assert spec["probe"] == "v2" and spec["tags"]["target"] == "no-target"
        assert not decode_png(official.root / spec["gt"]["src"]).any()
        tracker = document["models"][official.key_of(TRACKER)]["probes"]["v2"]
        greedy = document["models"][official.key_of(GREEDY)]["probes"]["v2"]
        assert tracker["answered_empty"] is True and greedy["answered_empty"] is False
        assert not decode_png(official.root / tracker["mask"]["src"]).any()
        assert decode_png(official.root / greedy["mask"]["src"]).any()
        row = next(r for r in official.grid(GREEDY)["rows"] if r["id"] == expression_id)
        frames = len(official.reference.rows_for("v2")[expression_id].frame_names)
        assert f"/thumb-{frames // 2}-" in row["thumb"]  # no truth anywhere: the middle frame


def test_a_thumbnail_shows_the_frame_where_the_truth_is_largest(official):
    for row in official.grid(SHIFTED)["rows"]:
        masks = official.reference.rows_for("v1")[row["id"]].masks
        assert f"/thumb-{int(np.argmax(rle_ops.area(list(masks))))}-" in row["thumb"]


def test_lmms_eval_marks_the_dropped_expression_and_plots_the_resampled_frames(lmms):
    dropped = _dropped_id(lmms)
    record = lmms.records[(TRACKER, dropped)]
    assert record["dropped"] is True
    entry = lmms.expression(dropped)["models"][lmms.key_of(TRACKER)]["probes"]["v2"]
    assert entry == {"missing": True, "values": {}, "dropped": True}
    grid = lmms.grid(TRACKER)
    assert [row["id"] for row in grid["rows"]] == list(lmms.reference.rows_for("v2"))  # dropped ones listed
    marked = {row["id"]: row for row in grid["rows"] if "dropped" in row}
    assert list(marked) == [dropped] and marked[dropped]["dropped"] == ["v2"]
    assert marked[dropped]["values"] == {"v2": None} and marked[dropped]["missing"] == ["v2"]
    for expression_id, row in lmms.reference.rows_for("v2").items():
        if expression_id == dropped:
            continue
        entry = lmms.expression(expression_id)["models"][lmms.key_of(TRACKER)]["probes"]["v2"]
        frames = list(resampled_frames(len(row.frame_names), 3.0))
        assert entry["frames"] == lmms.records[(TRACKER, expression_id)]["frames"] == frames
        assert len(entry["J_t"]) == len(frames) < len(row.frame_names)
        assert entry["values"]["JF"] == lmms.records[(TRACKER, expression_id)]["JF"]


# ------------------------------------------------------------------ in the browser


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("figure.player")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('canvas.mask.pred'))
        .every(c => c.dataset.tile === '' || c.dataset.drawn === 'true')""")


def _stage(page: Any) -> dict[str, str]:
    return page.eval_on_selector(".vstage[data-probe='v2']", "s => ({position: s.dataset.position, "
                                 "frame: s.dataset.frame, tile: s.querySelector('canvas.pred').dataset.tile})")


def test_the_player_steps_through_the_native_frames(page, official, site_url, screenshot):
    expression_id, row = next((i, r) for i, r in official.reference.rows_for("v2").items()
                              if not r.no_target and i not in official.reference.rows_for("v1"))
    _open(page, site_url(official.root, "video.html", b="mevis", id=expression_id, m=official.key_of(TRACKER)))
    assert page.inner_text("#heading") == f"MeViS {expression_id}"
    record = official.records[(TRACKER, expression_id)]
    assert page.inner_text("#expression") == f"“{row.expression}” · target: {record['target']} · type: {record['type']}"
    assert page.eval_on_selector_all("figure.player", "fs => fs.map(f => f.dataset.probe)") == ["v2"]
    values = page.inner_text("figure.player .values")
    assert values.startswith(f"J&F {100 * record['JF']:.1f} · J {100 * record['J']:.1f} · F {100 * record['F']:.1f}")
    assert _stage(page) == {"position": "0", "frame": "0", "tile": "0"}
    mask = page.locator(".vstage[data-probe='v2'] canvas.pred")
    frame = page.locator(".vstage[data-probe='v2'] canvas.frame")
    before_mask, before_frame = mask.screenshot(), frame.screenshot()
    page.keyboard.press("ArrowRight")
    assert _stage(page) == {"position": "1", "frame": "1", "tile": "1"}
    assert mask.screenshot() != before_mask and frame.screenshot() != before_frame  # the object moves
    assert page.inner_text("figure.player .frame-value") == \
        f"this frame ({row.frame_names[1]}): J {100 * record['J_t'][1]:.1f} · F {100 * record['F_t'][1]:.1f}"
    assert page.inner_text("#where").startswith(f"shown 2 of {len(row.frame_names)}")
    assert page.is_hidden("#static-note")  # MoCentric's note on its static probe
    screenshot(page, "mevis-sample", full_page=True)


def test_the_grid_lists_every_expression_with_the_models_jf_and_filters_by_tag(page, official, site_url, screenshot):
    from playwright.sync_api import expect  # here: the page fixture skips when Playwright is missing

    rows = official.reference.rows_for("v2")
    page.goto(site_url(official.root, "videos.html", b="mevis", m=official.key_of(GREEDY)))
    page.wait_for_selector("#rows tr")
    expect(page.locator("#total")).to_have_text(str(len(rows)))
    shown = page.eval_on_selector_all("#rows tr", "trs => trs.map(tr => [tr.dataset.id, "
                                      "tr.cells[3].dataset.value, tr.cells[3].textContent])")
    assert sorted(s[0] for s in shown) == sorted(rows)
    for expression_id, value, text in shown:
        jf = 100 * official.records[(GREEDY, expression_id)]["JF"]
        assert float(value) == pytest.approx(jf) and text == f"{jf:.1f}"
    assert page.eval_on_selector_all("#head th[data-sort]", "ths => ths.map(th => th.textContent)") == \
        ["id", "expression", "v2 J&F"]
    assert page.is_hidden("#with-reversed")  # MeViS expressions have no reversed form
    page.select_option("select[data-tag='target']", "no-target")
    no_target = [i for i, row in rows.items() if row.no_target]
    expect(page.locator("#count")).to_have_text(str(len(no_target)))
    assert sorted(page.eval_on_selector_all("#rows tr", "trs => trs.map(tr => tr.dataset.id)")) == sorted(no_target)
    page.select_option("select[data-tag='target']", "")
    page.select_option("select[data-tag='type']", "reasoning")
    expect(page.locator("#count")).to_have_text(str(sum(row.type == "reasoning" for row in rows.values())))
    screenshot(page, "mevis-grid")
    page.select_option("#model", official.key_of(SHIFTED))  # a v1 model: v1's expressions and column
    expect(page.locator("#total")).to_have_text(str(len(official.reference.rows_for("v1"))))
    assert page.eval_on_selector_all("#head th[data-sort]", "ths => ths.map(th => th.textContent)") == \
        ["id", "expression", "v1 J&F"]
    assert page.locator("select[data-tag='type']").count() == 0  # v1 expressions have no type


def test_a_no_target_expression_draws_an_empty_truth(page, official, site_url):
    expression_id = next(i for i, row in official.reference.rows_for("v2").items() if row.no_target)
    _open(page, site_url(official.root, "video.html", b="mevis", id=expression_id, m=official.key_of(GREEDY)))
    assert "target: no-target" in page.inner_text("#expression")
    stage = page.locator(".vstage[data-probe='v2']")
    with_truth = stage.screenshot()
    page.uncheck("#show-gt")
    assert stage.screenshot() == with_truth  # nothing to draw
    page.uncheck("#show-pred")
    assert stage.screenshot() != with_truth  # the greedy model segments an object anyway
    page.select_option("#model", official.key_of(TRACKER))
    page.check("#show-pred")
    assert "answered empty" in page.inner_text("figure.player .values")


def test_a_dropped_expression_is_marked_under_lmms_eval(page, lmms, site_url):
    from playwright.sync_api import expect

    dropped = _dropped_id(lmms)
    page.goto(site_url(lmms.root, "videos.html", b="mevis", m=lmms.key_of(TRACKER)))
    page.wait_for_selector("#rows tr")
    cell = page.locator(f"#rows tr[data-id='{dropped}'] td").nth(3)
    expect(cell).to_have_text("dropped")
    assert cell.get_attribute("title") == "no line: dropped, left out of every mean"
    page.check("#with-missing")
    expect(page.locator("#count")).to_have_text("1")
    _open(page, site_url(lmms.root, "video.html", b="mevis", id=dropped, m=lmms.key_of(TRACKER)))
    assert page.inner_text("figure.player .values") == "no line: dropped, left out of every mean"
    assert page.inner_text(f"#summary tr[data-model='{lmms.key_of(TRACKER)}'] td:nth-child(2)") == "dropped"
    # another expression: its per-frame values are on the re-sampled frames only
    expression_id, row = list(lmms.reference.rows_for("v2").items())[1]
    _open(page, site_url(lmms.root, "video.html", b="mevis", id=expression_id, m=lmms.key_of(TRACKER)))
    frames = resampled_frames(len(row.frame_names), 3.0)
    points = page.eval_on_selector("svg.plot polyline.j", "p => p.getAttribute('points').split(' ').length")
    assert points == len(frames)
    assert f"of the {len(frames)} frames scored" in page.text_content("svg.plot text")
    page.keyboard.press("ArrowRight")  # native frame 1: not among the frames re-sampled at 3 fps
    assert 1 not in frames
    assert page.inner_text("figure.player .frame-value") == f"this frame ({row.frame_names[1]}): not scored"
