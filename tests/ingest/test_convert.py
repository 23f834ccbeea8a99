"""``pixbench convert`` from the PixFoundation reference layout, on a tiny layout built by hand.

Masks are 4 x 6. Ground truths (kept here, since no dataset is needed for the conversion):
row 1 = rows 0-1 x cols 0-2 (6 px), row 2 = rows 2-3 x cols 2-5 (8 px), row 3 = empty.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixbench.annotation import rle as rle_ops
from pixbench.cli.convert import configure_parser, run
from pixbench.ingest.pixfoundation import (
    CandidateName,
    ConvertError,
    candidate_index,
    convert_reference,
    parse_candidate_name,
    parse_mask_name,
    parse_meta_line,
    read_answers,
    response_of,
    selected_file_name,
)
from pixbench.metrics import SelectMode, best_iou_index, matched_ious, miou, select_mask
from pixbench.predictions import read_predictions, write_predictions

H, W = 4, 6


def box(rows: tuple[int, int] | None, cols: tuple[int, int] | None = None) -> np.ndarray:
    """A 4x6 bool mask, true on rows[0]..rows[1] x cols[0]..cols[1] (inclusive); empty for None."""
    mask = np.zeros((H, W), dtype=bool)
    if rows is not None and cols is not None:
        mask[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1] = True
    return mask


GT = {1: box((0, 1), (0, 2)), 2: box((2, 3), (2, 5)), 3: box(None)}
OWN = {1: box((0, 1), (0, 3)), 2: box((2, 3), (2, 5)), 3: box(None)}
# CANDIDATES[id] = [group 0: masks 0..2, group 1: masks 0..2]; the IoU with GT is noted by hand.
CANDIDATES = {
    1: [box((0, 1), (0, 1)),   # 4 px inside GT: 4/6
        box((0, 3), (0, 2)),   # 12 px over GT: 6/12
        box(None),             # 0
        box((0, 1), (0, 2)),   # = GT: 1
        box((2, 3), (3, 5)),   # disjoint: 0
        box((0, 1), (0, 2))],  # = GT again: 1 (the oracle's tie goes to this later one, index 5)
    2: [box((2, 3), (2, 3)),   # 4/8
        box((3, 3), (2, 5)),   # 4/8
        box((0, 3), (2, 5)),   # 8/16
        box((2, 3), (1, 5)),   # 8/10: the best, index 3
        box(None),             # 0
        np.ones((H, W), bool)],  # 8/24
}
CANDIDATE_IOU = {1: [4 / 6, 1 / 2, 0.0, 1.0, 0.0, 1.0], 2: [1 / 2, 1 / 2, 1 / 2, 8 / 10, 0.0, 8 / 24]}
META = {(1, 0): ("the butterfly's wings", "wings", 0.9), (1, 1): ("a flower", "flower", 0.5),
        (2, 0): ("the dog", "dog", 0.6), (2, 1): ("the dog's nose", "nose", 0.75)}


def write_png(path: Path, mask: np.ndarray, style: str = "255") -> None:
    """Write a mask as a 0/255 or 0/1 grey PNG, or an RGB PNG with red foreground."""
    if style == "255":
        Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(path)
    elif style == "1":
        Image.fromarray(mask.astype(np.uint8), mode="L").save(path)
    else:
        rgb = np.zeros((*mask.shape, 3), dtype=np.uint8)
        rgb[mask, 0] = 200
        Image.fromarray(rgb, mode="RGB").save(path)


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join(json.dumps(obj) + "\n" if obj != "" else "\n" for obj in lines), encoding="utf-8")
    return path


@pytest.fixture()
def layout(tmp_path: Path) -> dict[str, Path]:
    """A reference layout for PixMMVP rows 1..3, lines and files deliberately out of order."""
    masks = tmp_path / "preds_model_protocol3"
    masks.mkdir()
    write_png(masks / "00001.png", OWN[1], "255")
    write_png(masks / "output00002.png", OWN[2], "1")
    write_png(masks / "3.png", OWN[3], "255")

    cands = tmp_path / "preds_model_protocol1"
    cands.mkdir()
    for row_id, masks_of_row in CANDIDATES.items():
        for index, mask in enumerate(masks_of_row):
            style = ("255", "1", "rgb")[index % 3]
            write_png(cands / f"{row_id}_{index // 3:03d}_{index % 3:03d}.png", mask, style)
    write_png(cands / "3.png", box(None))  # row 3: no noun phrase in the response

    meta = tmp_path / "meta_model_spaCy_protocol1.txt"
    meta.write_text("".join(f"{row_id}.jpg - {group} - {phrase}| {core}| {score:f}\n"
                            for (row_id, group), (phrase, core, score) in sorted(META.items(), reverse=True)),
                    encoding="utf-8")
    selection = write_jsonl(tmp_path / "meta_model_gptauto_protocol1.jsonl", [
        {"question_id": 1, "selected file": "NONE"},
        {"question_id": 0, "selected file": f"{tmp_path}/preds/preds_model_protocol1/1_000_001.png"},
    ])
    vqa = write_jsonl(tmp_path / "answers_model_protocol1.jsonl", [
        {"question_id": 2, "prompt": "Is the dog facing left? (a) Yes (b) No", "answer": "(b)",
         "response": "No, the dog faces right.", "answer_id": "x", "model_id": "LLava"},
        "",
        {"question_id": 1, "prompt": "Are the wings open? (a) Open (b) Closed", "answer": "(a)",
         "response": "The butterfly's wings are open.", "answer_id": "y", "model_id": "LLava"},
        {"question_id": 3, "prompt": "Is there a cat? (a) Yes (b) No", "answer": "(a)",
         "response": "Yes.", "answer_id": "z", "model_id": "LLava"},
    ])
    letter = write_jsonl(tmp_path / "answers_model_protocol2.jsonl", [
        {"question_id": row_id, "prompt": "Q\nA. x\nB. y\nAnswer with the option's letter.",
         "answer": letter, "gt_answer": "(a)", "model_id": "LLava", "text_options": ["x", "y"]}
        for row_id, letter in ((3, "B"), (1, "A"), (2, "(b) y"))])
    return {"root": tmp_path, "masks": masks, "candidates": cands, "meta": meta, "selection": selection,
            "vqa": vqa, "letter": letter}


# ----------------------------------------------------------------------------- pure helpers

def test_parse_names() -> None:
    assert parse_mask_name("12.png") == "12"
    assert parse_mask_name("00012.png") == "00012"
    assert parse_mask_name("output00012.png") == "00012"
    assert parse_mask_name("ADE_val_00000001.png") == "ADE_val_00000001"
    assert parse_mask_name("12_000_001.png") is None and parse_mask_name("12.jpg") is None
    assert parse_candidate_name("7_001_002.png") == CandidateName("7", 1, 2)
    assert parse_candidate_name("ADE_val_00000001_000_002.png") == CandidateName("ADE_val_00000001", 0, 2)
    assert parse_candidate_name("7.png") is None and parse_candidate_name("7_001.png") is None


def test_parse_meta_line_plain_and_when_variant() -> None:
    entry = parse_meta_line("12.jpg - 3 - the butterfly's wings| wings| 0.731200\n")
    assert (entry.key, entry.group, entry.phrase, entry.core, entry.score) == \
        ("12", 3, "the butterfly's wings", "wings", 0.7312)
    assert entry.char_start is None and entry.char_end is None
    when = parse_meta_line("5.jpg - 0 - a red car| car| 0.500000 | 14 | 23| The image shows a red car | parked.")
    assert (when.phrase, when.score, when.char_start, when.char_end) == ("a red car", 0.5, 14, 23)
    assert parse_meta_line("5.jpg - 1 - it| it| nan").score is None
    with pytest.raises(ConvertError, match=r"meta\.txt:7: .*phrase\| core\| score"):
        parse_meta_line("5.jpg - 1 - no pipes here", file="meta.txt", line=7)
    with pytest.raises(ConvertError, match=r"meta\.txt:2: score 'high' is not a number"):
        parse_meta_line("5.jpg - 1 - car| car| high", file="meta.txt", line=2)


def test_selected_file_name_candidate_index_and_response_of() -> None:
    assert selected_file_name("/x/preds_llava/12_001_002.png") == "12_001_002.png"
    assert selected_file_name("C:\\preds\\12_001_002.png") == "12_001_002.png"
    assert selected_file_name("NONE") is None
    with pytest.raises(ValueError, match="selected file"):
        selected_file_name(3)
    order = [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1), (2, 2)]  # group 1 was dropped: indices follow the files
    assert candidate_index("12_002_001.png", order) == 4
    with pytest.raises(ValueError, match="not among the row's 6"):
        candidate_index("12_001_000.png", order)
    with pytest.raises(ValueError, match="not a candidate file name"):
        candidate_index("12.png", order)
    # GPT-grader format: `answer` is the correct answer, the model's text is `response`.
    assert response_of({"answer": "(a)", "response": "Open."}) == "Open."
    assert response_of({"answer": "B", "gt_answer": "(b)"}) == "B"
    with pytest.raises(ValueError, match="response"):
        response_of({"gt_answer": "(a)"})


# ----------------------------------------------------------------------------- conversion

def test_convert_candidates_records(layout: dict[str, Path]) -> None:
    preds = convert_reference(benchmark="pixmmvp", probe="vqa", model="llava-1.5-7b", answers=layout["vqa"],
                              candidates=layout["candidates"], meta=layout["meta"], selection=layout["selection"])
    assert [p.id for p in preds] == [1, 2, 3]
    first = preds[0]
    assert (first.benchmark, first.probe, first.model) == ("pixmmvp", "vqa", "llava-1.5-7b")
    assert first.response == "The butterfly's wings are open."  # not the `answer` field (the correct answer)
    assert first.prompt == "Are the wings open? (a) Open (b) Closed"
    assert first.mask is None and not first.has_mask
    for row_id, pred in zip((1, 2), preds[:2], strict=True):
        assert pred.candidates is not None and len(pred.candidates) == 6
        for index, candidate in enumerate(pred.candidates):  # ordered by (group, mask)
            assert np.array_equal(rle_ops.decode(candidate.mask), CANDIDATES[row_id][index])
            phrase, _core, score = META[row_id, index // 3]
            assert (candidate.phrase, candidate.score) == (phrase, score)
            assert candidate.char_start is None and candidate.point is None
    assert preds[0].selected == 1                  # 1_000_001.png = group 0, mask 1
    assert preds[1].selected == "none"             # "NONE"
    assert preds[2].candidates == () and preds[2].selected == "none"  # bare 3.png, no selection line
    assert preds[2].response == "Yes."


def test_convert_masks_and_letter_answers(layout: dict[str, Path]) -> None:
    preds = convert_reference(benchmark="pixmmvp", probe="letter", model="m", answers=layout["letter"],
                              masks=layout["masks"])
    assert [(p.id, p.response) for p in preds] == [(1, "A"), (2, "(b) y"), (3, "B")]
    for pred in preds:
        assert pred.has_mask and pred.mask is not None and pred.candidates is None and pred.selected is None
        assert rle_ops.size_of(pred.mask) == (H, W)
        assert np.array_equal(rle_ops.decode(pred.mask), OWN[pred.id])  # 0/255 and 0/1 PNGs alike
    segment = convert_reference(benchmark="pixmmvp", probe="segment", model="m", masks=layout["masks"])
    assert [p.response for p in segment] == [None, None, None]


def test_candidates_without_meta_or_selection(layout: dict[str, Path]) -> None:
    preds = convert_reference(benchmark="pixmmvp", probe="segment", model="m", candidates=layout["candidates"])
    assert all(c.phrase is None and c.score is None for p in preds for c in p.candidates or ())
    assert [p.selected for p in preds] == [None, None, "none"]


def test_id_base_zero(layout: dict[str, Path], tmp_path: Path) -> None:
    zero = write_jsonl(tmp_path / "zero.jsonl", [{"question_id": 0, "response": "a"},
                                                 {"question_id": 299, "response": "b"}])
    assert sorted(read_answers(zero, benchmark="pixmmvp", id_base=0)) == [1, 300]
    assert read_answers(layout["letter"], benchmark="pixmmvp")[2].response == "(b) y"
    preds = convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=zero, id_base=0)
    assert [(p.id, p.response) for p in preds] == [(1, "a"), (300, "b")]
    with pytest.raises(ConvertError, match=r"zero\.jsonl:1: question_id 0 .*row id 0, which is not in pixmmvp"):
        convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=zero)  # default: counted from 1


def test_round_trip_and_hand_computed_scores(layout: dict[str, Path], tmp_path: Path) -> None:
    preds = convert_reference(benchmark="pixmmvp", probe="vqa", model="m", answers=layout["vqa"],
                              masks=layout["masks"], candidates=layout["candidates"], meta=layout["meta"],
                              selection=layout["selection"])
    out = tmp_path / "preds.jsonl"
    assert write_predictions(out, preds) == 3
    read = read_predictions(out, index={"pixmmvp": {1: (H, W), 2: (H, W), 3: (H, W)}})
    assert read.problems == []
    assert [dataclasses.replace(p, line=0) for p in read.predictions] == preds

    gts = {row_id: rle_ops.encode(mask) for row_id, mask in GT.items()}
    by_id = {p.id: p for p in read.predictions}

    def chosen_ious(mode: SelectMode, *, own_mask: bool = False) -> list[float]:
        masks = []
        for row_id in (1, 2, 3):
            p = by_id[row_id]
            cands = [c.mask for c in p.candidates or ()]
            selection = select_mask(mode=mode, gt=gts[row_id], mask=p.mask if own_mask else None,
                                    candidates=cands, scores=[c.score for c in p.candidates or ()],
                                    selected=p.selected)
            masks.append(selection.mask)
        return [float(v) for v in matched_ious(preds=masks, gts=[gts[i] for i in (1, 2, 3)])]

    # Oracle: best candidate per row, ties to the later one; empty ground truth -> IoU 1.
    for row_id in (1, 2):
        cands = [c.mask for c in by_id[row_id].candidates or ()]
        index, value = best_iou_index(candidates=cands, gt=gts[row_id])
        assert (index, value) == ({1: 5, 2: 3}[row_id], pytest.approx(max(CANDIDATE_IOU[row_id])))
    assert chosen_ious("oracle") == pytest.approx([1.0, 0.8, 1.0])
    assert miou(chosen_ious("oracle")) == pytest.approx((1 + 0.8 + 1) / 3 * 100)
    # Given (GPT selection): row 1 -> candidate 1 (6/12), row 2 -> "NONE" (empty), row 3 -> "none".
    assert chosen_ious("given") == pytest.approx([0.5, 0.0, 1.0])
    assert miou(chosen_ious("given")) == pytest.approx(50.0)
    # Score: row 1 -> group 0 (0.9), its last mask (ties to later) = empty -> 0; row 2 -> group 1 (0.75),
    # mask 2 = the whole image -> 8/24; row 3 has no candidate -> empty -> 1.
    assert chosen_ious("score") == pytest.approx([0.0, 1 / 3, 1.0])
    assert miou(chosen_ious("score")) == pytest.approx((0 + 1 / 3 + 1) / 3 * 100)
    # The model's own masks (--masks) win under `given`: 6/8, 1, empty/empty = 1.
    assert chosen_ious("given", own_mask=True) == pytest.approx([0.75, 1.0, 1.0])


def test_pixcvbench_names(tmp_path: Path) -> None:
    names = {"ADE_val_00000001": 0, "000000000001": 633}
    masks = tmp_path / "preds"
    masks.mkdir()
    write_png(masks / "ADE_val_00000001.png", box((0, 0), (0, 0)))
    write_png(masks / "000000000001.png", box(None))
    answers = write_jsonl(tmp_path / "a.jsonl", [
        {"question_id": "ADE_val_00000001.jpg", "prompt": "p", "answer": "(A)", "response": "two"},
        {"question_id": "/coco/val2017/000000000001.jpg", "prompt": "p", "answer": "(B)", "response": "one"}])
    preds = convert_reference(benchmark="pixcvbench", probe="vqa", model="m", answers=answers, masks=masks,
                              names=names)
    assert [(p.id, p.response, int(rle_ops.area([p.mask])[0]) if p.mask else None) for p in preds] == \
        [(0, "two", 1), (633, "one", 0)]
    letter = write_jsonl(tmp_path / "l.jsonl", [{"questionId": 633, "answer": "(A)", "gt_answer": "(B)"}])
    assert [p.id for p in convert_reference(benchmark="pixcvbench", probe="letter", model="m",
                                            answers=letter)] == [633]
    with pytest.raises(ConvertError, match=r"ADE_val_00000001\.png: PixCV-Bench files are named after the image"):
        convert_reference(benchmark="pixcvbench", probe="segment", model="m", masks=masks)


# ----------------------------------------------------------------------------- errors

def convert_error(**kwargs: object) -> str:
    arguments: dict = {"benchmark": "pixmmvp", "probe": "segment", "model": "m", **kwargs}
    with pytest.raises(ConvertError) as info:
        convert_reference(**arguments)
    return str(info.value)


def test_error_malformed_lines(layout: dict[str, Path]) -> None:
    meta = layout["meta"]
    meta.write_text(meta.read_text(encoding="utf-8") + "1.jpg - 2 - broken line\n", encoding="utf-8")
    assert f"{meta}:5: expected 3 '|'-separated fields" in convert_error(candidates=layout["candidates"], meta=meta)
    answers = write_jsonl(layout["root"] / "bad.jsonl", [{"question_id": 1, "response": "a"}])
    with answers.open("a", encoding="utf-8") as handle:
        handle.write('{"question_id": 2, "response": \n[1]\n{"prompt": "p", "response": "r"}\n'
                     '{"question_id": 3, "prompt": "p"}\n')
    message = convert_error(answers=answers, probe="vqa")
    assert "4 problem(s)" in message
    assert f"{answers}:2: invalid JSON" in message
    assert f"{answers}:3: expected a JSON object" in message
    assert f"{answers}:4: missing `question_id`" in message
    assert f"{answers}:5: missing the model's text" in message


def test_error_unknown_and_duplicate_ids(layout: dict[str, Path]) -> None:
    answers = write_jsonl(layout["root"] / "dup.jsonl", [{"question_id": 1, "response": "a"},
                                                         {"question_id": 301, "response": "b"},
                                                         {"question_id": 1, "response": "c"}])
    message = convert_error(answers=answers, probe="vqa")
    assert f"{answers}:2: question_id 301 (counted from 1) gives row id 301, which is not in pixmmvp" in message
    assert f"{answers}:3: second line for row id 1; first at line 1" in message
    write_png(layout["masks"] / "1.png", OWN[1])  # beside 00001.png
    write_png(layout["masks"] / "00301.png", OWN[1])
    message = convert_error(masks=layout["masks"])
    assert "second mask file for row id 1; the first is 00001.png" in message
    assert f"{layout['masks'] / '00301.png'}: name key '00301' gives row id 301" in message


def test_error_stray_files(layout: dict[str, Path]) -> None:
    write_png(layout["masks"] / "2_000_000.png", OWN[2])
    (layout["masks"] / "notes.txt").write_text("x")
    message = convert_error(masks=layout["masks"])
    assert f"{layout['masks'] / '2_000_000.png'}: not a mask file name" in message
    assert "pass this folder as the candidates folder" in message
    assert f"{layout['masks'] / 'notes.txt'}: not a mask file name" in message
    write_png(layout["candidates"] / "1_0_1.png", OWN[1])  # same (id, group, mask) as 1_000_001.png
    write_png(layout["candidates"] / "2.png", box(None))    # a no-candidate file beside candidates
    message = convert_error(candidates=layout["candidates"])
    assert "second file for row id 1 group 0 mask 1" in message
    assert f"{layout['candidates'] / '2.png'}: row id 2 has both this no-candidate file and 6" in message


def test_error_selection(layout: dict[str, Path]) -> None:
    root = layout["root"]
    missing = write_jsonl(root / "sel1.jsonl", [{"question_id": 0, "selected file": "x/1_002_000.png"},
                                                {"question_id": 1, "selected file": "x/1_000_000.png"},
                                                {"question_id": 2, "selected file": "x/3_000_000.png"},
                                                {"question_id": 1, "selected file": "NONE"}])
    assert f"{missing}:4: second line for row id 2; first at line 2" in convert_error(
        candidates=layout["candidates"], selection=missing)
    unknown = write_jsonl(root / "sel0.jsonl", [{"question_id": 7, "selected file": "NONE"}])
    assert f"{unknown}:1: no candidate files in {layout['candidates']} for row id 8" in convert_error(
        candidates=layout["candidates"], selection=unknown)
    sel2 = write_jsonl(root / "sel2.jsonl", [{"question_id": 0, "selected file": "x/1_002_000.png"},
                                             {"question_id": 1, "selected file": "x/1_000_000.png"},
                                             {"question_id": 2, "selected file": "x/3_000_000.png"}])
    message = convert_error(candidates=layout["candidates"], selection=sel2)
    assert f"{sel2}:1: row id 1: selected file '1_002_000.png' is not among the row's 6 candidate" in message
    assert f"{sel2}:2: row id 2: selected file '1_000_000.png' belongs to row id 1, but the line is for" in message
    assert f"{sel2}:3: row id 3: selected file '3_000_000.png' is not among the row's 0 candidate" in message
    short = write_jsonl(root / "sel3.jsonl", [{"question_id": 0, "selected file": "NONE"}])
    assert f"{short}: no line for row id 2, which has 6 candidates" in convert_error(
        candidates=layout["candidates"], selection=short)


def test_error_inputs_disagree(layout: dict[str, Path]) -> None:
    (layout["masks"] / "3.png").unlink()
    message = convert_error(answers=layout["vqa"], masks=layout["masks"], probe="vqa")
    assert f"{layout['masks']}: no entry for row id 3, which {layout['vqa']} has" in message
    meta = layout["meta"]
    meta.write_text(meta.read_text(encoding="utf-8") + "3.jpg - 0 - a cat| cat| 0.1\n", encoding="utf-8")
    (layout["candidates"] / "2_001_002.png").unlink()
    (layout["candidates"] / "2_001_001.png").unlink()
    (layout["candidates"] / "2_001_000.png").unlink()
    message = convert_error(candidates=layout["candidates"], meta=meta)
    assert f"{meta}:5: no candidate files in {layout['candidates']} for row id 3 group 0" in message
    assert f"{meta}:1: no candidate files in {layout['candidates']} for row id 2 group 1" in message


def test_error_meta_missing_group_and_bad_png(layout: dict[str, Path]) -> None:
    meta = layout["meta"]
    meta.write_text("".join(line for line in meta.read_text(encoding="utf-8").splitlines(keepends=True)
                            if not line.startswith("1.jpg - 1 ")), encoding="utf-8")
    (layout["candidates"] / "2_000_000.png").write_bytes(b"not a png")
    write_png(layout["candidates"] / "3.png", box((0, 0), (0, 0)))
    message = convert_error(candidates=layout["candidates"], meta=meta)
    assert f"{layout['candidates'] / '1_001_000.png'}: no line in {meta} for row id 1 group 1" in message
    assert f"{layout['candidates'] / '2_000_000.png'}: unreadable PNG" in message
    assert f"{layout['candidates'] / '3.png'}: a no-candidate file {{id}}.png must be empty" in message


def test_invalid_arguments(layout: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="answers` for the 'vqa' probe"):
        convert_reference(benchmark="pixmmvp", probe="vqa", model="m", masks=layout["masks"])
    with pytest.raises(ValueError, match="`candidates` with `meta` or `selection`"):
        convert_reference(benchmark="pixmmvp", probe="segment", model="m", masks=layout["masks"],
                          meta=layout["meta"])
    with pytest.raises(ValueError, match="at least one input"):
        convert_reference(benchmark="pixmmvp", probe="segment", model="m")
    with pytest.raises(ValueError, match="benchmark"):
        convert_reference(benchmark="mmvp", probe="segment", model="m", masks=layout["masks"])


# ----------------------------------------------------------------------------- command line

def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pixbench convert")
    configure_parser(parser)
    return run(parser.parse_args(argv))


def test_cli_end_to_end(layout: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "llava-1.5-7b.jsonl"
    assert cli(["--benchmark", "pixmmvp", "--probe", "vqa", "--answers", str(layout["vqa"]),
                "--candidates", str(layout["candidates"]), "--meta", str(layout["meta"]),
                "--selection", str(layout["selection"]), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 line(s) of pixmmvp/vqa for model 'llava-1.5-7b'" in err
    assert "3 response(s), 0 mask(s), 3 with candidates (12 masks), 1 selected, 2 'none'" in err
    assert cli(["--benchmark", "pixmmvp", "--probe", "letter", "--answers", str(layout["letter"]),
                "--out", str(out)]) == 1
    assert "exists; pass --append" in capsys.readouterr().err
    assert cli(["--benchmark", "pixmmvp", "--probe", "letter", "--answers", str(layout["letter"]),
                "--out", str(out), "--append"]) == 0
    assert cli(["--benchmark", "pixmmvp", "--probe", "segment", "--masks", str(layout["masks"]),
                "--out", str(out), "--append"]) == 0
    capsys.readouterr()
    read = read_predictions(out)
    assert read.problems == [] and read.models == ["llava-1.5-7b"]
    assert sorted((p.probe, p.id) for p in read.predictions) == \
        sorted((probe, i) for probe in ("vqa", "letter", "segment") for i in (1, 2, 3))
    assert all("counts" in line for line in out.read_text().splitlines() if '"segment"' in line)  # inline RLE
    # Appending the same probe again is refused and writes nothing.
    before = out.read_text()
    assert cli(["--benchmark", "pixmmvp", "--probe", "segment", "--masks", str(layout["masks"]),
                "--out", str(out), "--append"]) == 1
    assert "already has lines for model 'llava-1.5-7b'" in capsys.readouterr().err and out.read_text() == before


def test_cli_errors(layout: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question_id": 1, "response": "a"}, {"question_id": "x"}])
    out = tmp_path / "out.jsonl"
    assert cli(["--benchmark", "pixmmvp", "--probe", "vqa", "--answers", str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: `question_id` must be an int" in err and not out.exists()
    assert cli(["--benchmark", "pixmmvp", "--probe", "vqa", "--masks", str(layout["masks"]),
                "--out", str(out)]) == 1
    assert "error: Expected `answers`" in capsys.readouterr().err
    help_text = argparse.ArgumentParser(prog="pixbench convert")
    configure_parser(help_text)
    text = help_text.format_help()
    assert "protocol1 = vqa" in text and "--id-base" in text and "{id}_{group:03d}_{mask:03d}.png" in text


def test_cli_pixcvbench_with_data(tiny_built: dict[str, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    masks = tmp_path / "preds"
    masks.mkdir()
    from pixbench.loaders import hub

    rows = hub.load(str(tiny_built["pixcvbench"]), columns=["id", "source_filename", "height", "width"])
    for row in rows:
        mask = np.zeros((row["height"], row["width"]), dtype=bool)
        mask[: row["id"] % 3 + 1, :2] = True
        write_png(masks / (Path(row["source_filename"]).stem + ".png"), mask)
    out = tmp_path / "cv.jsonl"
    assert cli(["--benchmark", "pixcvbench", "--probe", "segment", "--masks", str(masks),
                "--data", str(tiny_built["pixcvbench"]), "--model", "rga", "--out", str(out)]) == 0
    assert "6 mask(s)" in capsys.readouterr().err
    read = read_predictions(out, index={"pixcvbench": {r["id"]: (r["height"], r["width"]) for r in rows}})
    assert read.problems == [] and sorted(p.id for p in read.predictions) == sorted(rows["id"])
    assert all(int(rle_ops.area([p.mask])[0]) == 2 * (p.id % 3 + 1) for p in read.predictions if p.mask)
    assert cli(["--benchmark", "pixcvbench", "--probe", "segment", "--masks", str(masks),
                "--out", str(tmp_path / "x.jsonl")]) == 1
    assert "pass the dataset (--data)" in capsys.readouterr().err
