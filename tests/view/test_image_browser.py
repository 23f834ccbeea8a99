"""The image benchmarks' site in headless Chromium, opened from ``file://``: no console errors or failed
requests on any page (the ``page`` fixture fails a test on any), the index's numbers are the report's, its
tables sort and its leaderboards re-rank, the grid's filters show the number of samples the per-sample records
give, a sample page draws both masks and the right verdict, the arrow keys follow the grid's filtered order,
and the compare page lists exactly the samples where two models differ.

Expected values are computed here from `pixbench score`'s JSON report and per-sample records (``image_site``,
see ``conftest.py``), never read back from the site's own data.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from pixbench.benchmarks import REGISTRY
from pixbench.references import load_reference

TABLES_JS = """() => Array.from(document.querySelectorAll("table.results")).map(table => ({
    key: table.dataset.key,
    kind: table.classList.contains("leaderboard") ? "leaderboard" : table.classList.contains("scores")
          ? "scores" : "summary",
    headers: Array.from(table.tHead.rows[0].cells).map(th => th.textContent.trim()),
    rows: Array.from(table.tBodies[0].rows).map(tr => ({
        published: tr.classList.contains("published"),
        cells: Array.from(tr.cells).map(td => ({text: td.textContent.trim(), value: td.getAttribute("data-value")}))
    }))
}))"""


def tables(page: Any) -> dict[str, dict[str, Any]]:
    return {t["key"]: t for t in page.evaluate(TABLES_JS)}


def shown(value: float | None) -> str:
    """How `pixbench score`'s table prints a metric: one decimal, "-" when not measured."""
    return "-" if value is None else f"{value:.1f}"


def exact(value: float | None) -> str:
    """The ``data-value`` of a metric: the report's value (6 decimals), "null" when not measured."""
    return "null" if value is None else repr(round(float(value), 6))


def column_keys(benchmark: str) -> dict[str, str]:
    """header -> metric key of the benchmark's report columns."""
    return {header: key for key, header in REGISTRY[benchmark].report_columns}


def results_of(report: dict[str, Any], benchmark: str) -> dict[str, dict[str, Any]]:
    return {r["model"]: r for r in report["results"] if r["benchmark"] == benchmark}


def main_iou(records: dict[tuple[int, str], dict[str, Any]], row_id: int) -> float | None:
    """The IoU the grid filters and sorts on: the segment probe's, else the vqa probe's (percent)."""
    for probe in ("segment", "vqa"):
        record = records.get((row_id, probe))
        if record is not None and record.get("iou") is not None:
            return round(record["iou"] * 100, 4)
    return None


# ------------------------------------------------------------------------------------------------ index


def test_index_shows_the_reports_numbers(image_site, page, site_url, screenshot):
    page.goto(site_url(image_site.root, "index.html"))
    found = tables(page)
    screenshot(page, "image-index", full_page=True)
    for benchmark in ("pixmmvp", "pixcvbench"):
        results, keys = results_of(image_site.report, benchmark), column_keys(benchmark)
        scores = found[f"results-{benchmark}"]
        assert sorted(row["cells"][0]["text"] for row in scores["rows"]) == sorted(results)
        checked = 0
        for row in scores["rows"]:
            result = results[row["cells"][0]["text"]]
            for header, cell in zip(scores["headers"], row["cells"], strict=True):
                if header in keys:
                    value = result["metrics"].get(keys[header])
                    assert (cell["value"], cell["text"]) == (exact(value), shown(value)), (benchmark, header)
                    checked += 1
                if header == "missing":
                    missing = sum(v for v in result["counts"]["missing"].values() if v is not None)
                    assert cell["text"] == str(missing)
        assert checked == len(results) * len([h for h in scores["headers"] if h in keys]) >= 3 * 7
        board = found[f"leaderboard-{benchmark}"]
        measured = [row for row in board["rows"] if not row["published"]]
        published = [row for row in board["rows"] if row["published"]]
        assert board["rows"] == measured + published
        assert [row["cells"][0]["text"] for row in measured] == ["1", "2", "3"]
        headline = [results[row["cells"][1]["text"].rsplit(" (", 1)[0]]["metrics"]["S"] for row in measured]
        assert headline == sorted(headline, reverse=True)
        for row in measured:
            result = results[row["cells"][1]["text"].rsplit(" (", 1)[0]]
            assert row["cells"][1]["text"].endswith(f" ({result['select']})")
            for header, cell in zip(board["headers"][2:], row["cells"][2:], strict=True):
                value = result["metrics"].get(keys[header])
                assert (cell["value"], cell["text"]) == (exact(value), shown(value))
        paper = REGISTRY[benchmark].published_rows()
        assert len(published) == len(paper) > 0
        by_name = {row["cells"][1]["text"]: row for row in published}  # ranked too, below the measured ones
        for expected in paper:
            row = by_name[f"{expected.method} [{expected.section}]"]
            for header, cell in zip(board["headers"][2:], row["cells"][2:], strict=True):
                value = expected.metrics.get(keys[header])
                assert (cell["value"], cell["text"]) == (exact(value), shown(value))
    assert page.evaluate("window.pwned") is None  # the hostile model's name ran nothing


def test_leaderboard_reranks_by_the_chosen_metric_with_published_rows_below(image_site, page, site_url):
    page.goto(site_url(image_site.root, "index.html"))
    results = results_of(image_site.report, "pixcvbench")
    for header, key in (("A", "A"), ("M†", "M_dagger"), ("S", "S")):
        page.select_option("select.rank-by[data-table=leaderboard-pixcvbench]", header)
        board = tables(page)["leaderboard-pixcvbench"]
        column = board["headers"].index(header)
        measured = [row for row in board["rows"] if not row["published"]]
        assert board["rows"][:len(measured)] == measured  # published rows stay below
        assert [row["cells"][0]["text"] for row in measured] == ["1", "2", "3"]
        values = [results[row["cells"][1]["text"].rsplit(" (", 1)[0]]["metrics"][key] for row in measured]
        expected = sorted(values, key=lambda v: (v is None, -(v or 0.0)))
        assert values == expected, header
        assert [row["cells"][column]["value"] for row in measured] == [exact(v) for v in expected]
        published = [row["cells"][column]["value"] for row in board["rows"][len(measured):]]
        numbers = [float(v) for v in published if v != "null"]
        assert numbers == sorted(numbers, reverse=True) and published[len(numbers):] == ["null"] * (
            len(published) - len(numbers))


def test_a_results_table_sorts_by_a_header(image_site, page, site_url):
    page.goto(site_url(image_site.root, "index.html"))
    header = page.locator("#results-pixmmvp thead th", has_text="M†")
    values = {r["model"]: r["metrics"]["M_dagger"] for r in image_site.report["results"]
              if r["benchmark"] == "pixmmvp"}
    header.click()
    order = [row["cells"][0]["text"] for row in tables(page)["results-pixmmvp"]["rows"]]
    assert order == sorted(values, key=lambda m: (values[m] is None, -(values[m] or 0.0)))
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    order = [row["cells"][0]["text"] for row in tables(page)["results-pixmmvp"]["rows"]]
    assert order == sorted(values, key=lambda m: (values[m] is None, values[m] or 0.0))
    page.locator("#results-pixmmvp thead th", has_text="model").click()  # text columns sort as text
    order = [row["cells"][0]["text"] for row in tables(page)["results-pixmmvp"]["rows"]]
    assert order == sorted(values, reverse=True, key=str)


# ------------------------------------------------------------------------------------------------ samples


def open_grid(page: Any, url: str, total: int) -> None:
    page.goto(url)
    page.wait_for_function("n => document.getElementById('total').textContent === String(n)", arg=total)


def visible_ids(page: Any) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("#grid .card", "cards => cards.map(c => c.dataset.id)")]


def count(page: Any) -> int:
    return int(page.text_content("#count") or "-1")


@pytest.mark.parametrize(("model", "low", "high"), [("demo-attend-segment", 50, 70), ("demo-pixel-mllm", 70, 80)])
def test_grid_filters_show_the_counts_of_the_per_sample_records(image_site, page, site_url, screenshot, model, low,
                                                                high):
    benchmark = "pixcvbench"
    reference = load_reference(benchmark, str(image_site.data[benchmark]))
    records = image_site.records(benchmark, model)
    ids = sorted(reference.rows)
    open_grid(page, site_url(image_site.root, "samples.html", b=benchmark, m=image_site.key_of(benchmark, model)),
              len(ids))
    assert count(page) == len(ids) and visible_ids(page) == ids
    screenshot(page, f"image-grid-{model}")

    for letter in ("wrong", "right"):
        page.select_option("#letter", letter)
        chosen = [i for i in ids if records[(i, "letter")]["correct"] is (letter == "right")]
        assert count(page) == len(chosen) and visible_ids(page) == chosen
    page.select_option("#letter", "")

    page.select_option("#verdict", "no")
    said_no = [i for i in ids if records[(i, "vqa")].get("verdict") == "no"]
    assert 0 < count(page) == len(said_no) < len(ids) and visible_ids(page) == said_no
    page.select_option("#verdict", "")

    page.fill("#iou-min", str(low))
    page.dispatch_event("#iou-min", "change")
    page.fill("#iou-max", str(high))
    page.dispatch_event("#iou-max", "change")
    between = [i for i in ids if (v := main_iou(records, i)) is not None and low <= v <= high]
    assert 0 < count(page) == len(between) < len(ids) and visible_ids(page) == between

    page.select_option("#group-filters select[data-group=source]", "COCO")
    coco = [i for i in between if reference.rows[i].groups["source"] == "COCO"]
    assert count(page) == len(coco) and visible_ids(page) == coco
    page.fill("#iou-min", "0")
    page.dispatch_event("#iou-min", "change")
    page.fill("#iou-max", "100")
    page.dispatch_event("#iou-max", "change")
    coco = [i for i in ids if reference.rows[i].groups["source"] == "COCO"]
    assert 0 < count(page) == len(coco) < len(ids) and visible_ids(page) == coco


def test_grid_sorts_by_iou(image_site, page, site_url):
    benchmark, model = "pixmmvp", "demo-pixel-mllm"
    records = image_site.records(benchmark, model)
    ids = sorted({i for i, _ in records})
    open_grid(page, site_url(image_site.root, "samples.html", b=benchmark, m=image_site.key_of(benchmark, model)),
              len(ids))
    page.select_option("#sort", "-iou")
    expected = sorted(ids, key=lambda i: (-(main_iou(records, i) or 0.0), i))
    assert visible_ids(page) == expected



def test_grid_sorts_by_any_column(image_site, page, site_url):
    """Letter and judge outcomes (wrong first), the category and the benchmark's groups sort the grid too."""
    benchmark, model = "pixcvbench", "demo-pixel-mllm"
    records = image_site.records(benchmark, model)
    ids = sorted({i for i, _ in records})
    reference = load_reference(benchmark, str(image_site.data[benchmark]))
    open_grid(page, site_url(image_site.root, "samples.html", b=benchmark, m=image_site.key_of(benchmark, model)),
              len(ids))
    page.select_option("#sort", "group:source")
    assert visible_ids(page) == sorted(ids, key=lambda i: (reference.rows[i].groups["source"], i))
    page.select_option("#sort", "letter")
    letter = {i: records[(i, "letter")]["correct"] for i in ids if (i, "letter") in records}
    assert visible_ids(page) == sorted(ids, key=lambda i: (letter.get(i) is None, letter.get(i) is True, i))


# ------------------------------------------------------------------------------------------------ sample


def layer(page: Any, name: str) -> Any:
    return page.locator(f"#stage img.layer[data-layer={name}]")


def test_sample_page_shows_both_overlays_and_the_verdict(image_site, page, site_url, screenshot):
    benchmark, model, row_id = "pixmmvp", "demo-pixel-mllm", 4
    key = image_site.key_of(benchmark, model)
    page.goto(site_url(image_site.root, "sample.html", b=benchmark, id=row_id, m=key))
    page.wait_for_function("() => document.getElementById('heading').textContent === 'PixMMVP #4'")
    gt, pred = layer(page, "gt"), layer(page, "pred")
    page.wait_for_function("() => Array.from(document.querySelectorAll('#stage img')).every("
                           "img => img.hidden || (img.complete && img.naturalWidth > 0))")
    digest = image_site.data_file(f"{benchmark}/models")  # the model's key names its mask files
    assert key in [m["key"] for m in digest["models"]]
    assert gt.is_visible() and pred.is_visible()
    assert gt.get_attribute("src") == f"media/{benchmark}/{row_id}/gt.png"
    src = pred.get_attribute("src") or ""
    assert src.startswith(f"media/{benchmark}/{row_id}/{key}-") and src.endswith("-segment.png")
    box = page.locator("#image").bounding_box()
    assert box is not None and gt.bounding_box() == box == pred.bounding_box()  # drawn over the image
    assert gt.evaluate("img => getComputedStyle(img).filter") == 'url("#fill-gt")'
    assert pred.evaluate("img => getComputedStyle(img).filter") == 'url("#fill-pred")'
    screenshot(page, "image-sample")

    page.check("input[name=style][value=line]")
    assert gt.evaluate("img => img.style.filter") == 'url("#line-gt")'
    assert pred.evaluate("img => img.style.filter") == 'url("#line-pred")'
    page.uncheck("#show-gt")
    assert not gt.is_visible() and pred.is_visible()
    page.uncheck("#show-pred")
    assert not pred.is_visible()
    page.check("#show-gt")
    page.check("#show-pred")
    assert gt.is_visible() and pred.is_visible()
    page.fill("#opacity", "20")
    page.dispatch_event("#opacity", "input")
    assert gt.evaluate("img => getComputedStyle(img).opacity") == "0.2"

    record = image_site.records(benchmark, model)[(row_id, "vqa")]
    section = page.locator(f"#facts section[data-model='{key}'] dl[data-probe=vqa]")
    terms = section.locator("dt").all_text_contents()
    values = section.locator("dd").all_text_contents()
    facts = dict(zip(terms, values, strict=True))
    assert record["verdict"] == "no" and facts["verdict"] == "no" and facts["judged"] == "wrong"
    assert facts["judge reply"] == record["judge_reply"]
    assert facts["line"] == f"demo-pixel-mllm.jsonl:{2 + 3 * 3}"  # letter, vqa, segment lines per row
    segment = page.locator(f"#facts section[data-model='{key}'] dl[data-probe=segment] dd").all_text_contents()
    assert f"{image_site.records(benchmark, model)[(row_id, 'segment')]['iou'] * 100:.1f}" in segment


def test_sample_page_follows_the_model_chosen(image_site, page, site_url):
    """Choosing another model draws its mask and sends "back" to its grid; the facts stand beside the image."""
    benchmark, row_id = "pixmmvp", 2
    first, second = (image_site.key_of(benchmark, m) for m in ("demo-pixel-mllm", "demo-attend-segment"))
    page.goto(site_url(image_site.root, "sample.html", b=benchmark, id=row_id, m=first))
    page.wait_for_function("() => document.getElementById('heading').textContent === 'PixMMVP #2'")
    assert page.get_attribute("#back", "href") == f"samples.html?b={benchmark}&m={first}"
    page.select_option("#model", second)
    assert page.input_value("#probe") == "vqa"
    mask = image_site.data_file(f"{benchmark}/row-{row_id}")["models"][second]["probes"]["vqa"]["mask"]
    assert layer(page, "pred").get_attribute("src") == mask and layer(page, "pred").is_visible()
    assert page.get_attribute("#back", "href") == f"samples.html?b={benchmark}&m={second}"
    image, facts = page.locator("#image").bounding_box(), page.locator("#facts").bounding_box()
    assert image is not None and facts is not None and facts["x"] >= image["x"] + image["width"]


def test_sample_page_shows_candidates_and_hostile_replies_as_text(image_site, page, site_url):
    benchmark, row_id = "pixcvbench", 634
    key = image_site.key_of(benchmark, "demo-attend-segment")
    page.goto(site_url(image_site.root, "sample.html", b=benchmark, id=row_id, m=key))
    page.wait_for_selector("ol.candidates li")
    items = page.locator("ol.candidates li")
    assert items.count() == 3
    record = image_site.records(benchmark, "demo-attend-segment")[(row_id, "vqa")]
    assert "scored" in items.nth(record["candidate"]).text_content()
    cand = layer(page, "cand")
    assert not cand.is_visible()
    items.nth(0).locator("button").click()
    assert cand.is_visible() and (cand.get_attribute("src") or "").endswith("-vqa-c0.png")
    items.nth(0).locator("button").click()
    assert not cand.is_visible()
    hostile = page.locator(f"#facts section[data-model='{image_site.key_of(benchmark, image_site.hostile_model)}']")
    assert image_site.hostile_reply in hostile.locator("dd").all_text_contents()
    assert page.evaluate("window.pwned") is None


#: True once a sample page has drawn its row (its heading names the row).
SAMPLE_SHOWN = ("() => document.body.dataset.page === 'sample' && "
                "document.getElementById('heading').textContent.includes('#')")


def test_arrow_keys_follow_the_grids_filtered_order(image_site, page, site_url):
    benchmark, model = "pixcvbench", "demo-pixel-mllm"
    key = image_site.key_of(benchmark, model)
    records = image_site.records(benchmark, model)
    ids = sorted({i for i, _ in records})
    open_grid(page, site_url(image_site.root, "samples.html", b=benchmark, m=key), len(ids))
    page.select_option("#sort", "iou")
    page.select_option("#letter", "right")
    expected = sorted((i for i in ids if records[(i, "letter")]["correct"]),
                      key=lambda i: (main_iou(records, i) or 0.0, i))
    assert len(expected) >= 3 and visible_ids(page) == expected
    page.click(f"#grid .card[data-id='{expected[0]}']")
    for step, at in (("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1)):
        page.wait_for_function(SAMPLE_SHOWN)
        page.keyboard.press(step)
        page.wait_for_url(f"**/sample.html?b={benchmark}&id={expected[at]}&m=*")
    page.wait_for_function(SAMPLE_SHOWN)
    page.click("#next")
    page.wait_for_url(f"**id={expected[2]}&*")
    if len(expected) == 3:  # the last: next goes nowhere
        page.wait_for_function(SAMPLE_SHOWN)
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(200)
        assert f"id={expected[2]}&" in page.url


# ------------------------------------------------------------------------------------------------ compare


def differing(image_site: Any, benchmark: str, first: str, second: str, gap: float, *,
              judged: bool = True) -> list[int]:
    """The rows where two models differ, from the per-sample records: the letter's or the judge's outcome
    (both measured; ``judged=False``: a site without a judge), or a mask probe's IoU by more than ``gap``
    (fraction)."""
    a, c = image_site.records(benchmark, first), image_site.records(benchmark, second)
    rows = []
    for row_id in sorted({i for i, _ in a} & {i for i, _ in c}):
        why = False
        for probe in ("letter", "vqa") if judged else ("letter",):
            x, y = a.get((row_id, probe), {}).get("correct"), c.get((row_id, probe), {}).get("correct")
            why |= x is not None and y is not None and x != y
        for probe in ("segment", "vqa"):
            x, y = a.get((row_id, probe), {}).get("iou"), c.get((row_id, probe), {}).get("iou")
            why |= x is not None and y is not None and abs(x - y) > gap
        if why:
            rows.append(row_id)
    return rows


@pytest.mark.parametrize("benchmark", ["pixmmvp", "pixcvbench"])
def test_compare_page_lists_exactly_the_differing_samples(image_site, page, site_url, benchmark):
    gap = image_site.data_file(f"{benchmark}/models")["iou_gap"]
    assert gap == 0.25  # the default
    models = [m["model"] for m in image_site.models(benchmark)]
    assert len(models) == 3
    for first, second in ((models[0], models[1]), (models[2], models[0]), (models[1], models[2])):
        expected = differing(image_site, benchmark, first, second, gap)
        page.goto(site_url(image_site.root, "compare.html", b=benchmark, a=image_site.key_of(benchmark, first),
                           c=image_site.key_of(benchmark, second)))
        page.wait_for_function("() => document.getElementById('summary').textContent.includes('sample')")
        assert visible_ids(page) == expected, (first, second)
        assert page.text_content("#summary").startswith(f"{len(expected)} sample(s) where {first} and {second}")
    assert any(differing(image_site, benchmark, a, c, gap) for a in models for c in models)


@pytest.fixture(scope="module")
def small_pages(image_site, tmp_path_factory):
    """The image site's files without a judge, written with pages of 3 samples (grid and compare)."""
    from dataclasses import dataclass

    import pixbench.view
    from pixbench.cli import main
    from pixbench.view.context import SiteOptions

    @dataclass(frozen=True)
    class SmallPages(SiteOptions):
        grid_page: int = 3

    out = tmp_path_factory.mktemp("small-pages") / "site"
    argv = [*(str(p) for p in image_site.predictions), *(f"--data={n}={p}" for n, p in image_site.data.items())]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pixbench.view, "SiteOptions", SmallPages)
        assert main(["view", *argv, "--no-judge", "--out", str(out)]) == 0
    return out


def test_compare_and_grid_pages_page_through_their_samples(image_site, small_pages, page, site_url):
    benchmark = "pixmmvp"
    models = [m["model"] for m in image_site.models(benchmark)]
    pairs = [(a, c) for a in models for c in models if a != c]
    first, second = max(pairs, key=lambda pair: len(differing(image_site, benchmark, *pair, 0.25,
                                                              judged=False)))
    expected = differing(image_site, benchmark, first, second, 0.25, judged=False)
    assert len(expected) > 3
    page.goto(site_url(small_pages, "compare.html", b=benchmark, a=image_site.key_of(benchmark, first),
                       c=image_site.key_of(benchmark, second)))
    page.wait_for_function("() => document.getElementById('summary').textContent.includes('sample')")
    assert page.text_content("#summary").startswith(f"{len(expected)} sample(s)")
    assert visible_ids(page) == expected[:3] and page.is_disabled("#previous")
    page.click("#next")
    assert visible_ids(page) == expected[3:6]
    page.keyboard.press("ArrowLeft")
    assert visible_ids(page) == expected[:3]
    assert page.text_content("#page") == f"page 1 of {-(-len(expected) // 3)}"

    ids = sorted({i for i, _ in image_site.records(benchmark, first)})
    open_grid(page, site_url(small_pages, "samples.html", b=benchmark, m=image_site.key_of(benchmark, first)),
              len(ids))
    assert visible_ids(page) == ids[:3]
    page.keyboard.press("ArrowRight")
    assert visible_ids(page) == ids[3:6]


def test_sorting_a_leaderboard_by_a_header_keeps_the_published_rows_below(image_site, page, site_url):
    page.goto(site_url(image_site.root, "index.html"))
    for header in ("A", "A", "model"):  # descending, ascending, by name
        page.locator("#leaderboard-pixcvbench thead th").filter(has_text=re.compile(f"^{header}$")).click()
        kinds = page.eval_on_selector_all("#leaderboard-pixcvbench tbody tr",
                                          "rows => rows.map(r => r.classList.contains('published'))")
        assert kinds == sorted(kinds) and kinds[0] is False and kinds[-1] is True, header
