"""The fast scoring path against plain implementations: ``pixbench score`` on realistic masks (ragged
blobs with holes, perturbed ground truth, large regions, duplicates, empty and full masks) against a dense
implementation of the contract (pycocotools decode, numpy) in every selection mode; the batched RLE
decoder against a line-by-line port of pycocotools' string reader; the one-pass candidate reader against
the messages of the one-by-one reader; ``pixbench score`` starting with the modules scoring needs only."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from pixbench.annotation import rle
from pixbench.cli import COMMAND_MODULE, COMMAND_MODULES, build_parser, main
from pixbench.predictions import ReadOptions, read_predictions
from pixbench.references import load_reference

# ------------------------------------------------------------------------------------------- masks


def _blobs(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    rows, cols = np.mgrid[:height, :width]
    mask = np.zeros((height, width), dtype=bool)
    parts, holes = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    for k in range(parts + holes):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(1, 5) if k >= parts else np.exp(rng.uniform(0, np.log(min(height, width) / 2)))
        edge = radius * (1 + 0.3 * np.sin(3 * np.arctan2(rows - cy, cols - cx)) + 0.1 * rng.standard_normal(rows.shape))
        inside = np.hypot(rows - cy, cols - cx) < edge
        mask = mask & ~inside if k >= parts else mask | inside
    return mask


def _candidate_masks(rng: np.random.Generator, gt: np.ndarray, count: int) -> list[np.ndarray]:
    height, width = gt.shape
    out = []
    for k in range(count):
        kind = k % 6
        if kind == 0:  # the ground truth shifted, with a ragged boundary
            moved = np.roll(gt, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), axis=(0, 1))
            out.append(moved ^ ((rng.random(gt.shape) < 0.15) & (moved != np.roll(moved, 1, axis=0))))
        elif kind == 1:
            out.append(_blobs(rng, height, width))
        elif kind == 2:  # a large region with holes and islands
            out.append(rng.random((height // 4 + 1, width // 4 + 1)).repeat(4, 0).repeat(4, 1)[:height, :width] < 0.7)
        elif kind == 3:
            out.append(gt.copy())
        else:
            out.append(np.zeros(gt.shape, bool) if rng.random() < 0.5 else np.ones(gt.shape, bool))
    out.append(out[1].copy())  # the same string twice: a tie, to the later candidate
    return out


def _iou(pred: np.ndarray, gt: np.ndarray) -> float:
    union = int((pred | gt).sum())
    return 1.0 if union == 0 else int((pred & gt).sum()) / union


def _dense_choice(mode: str, line: dict, gt: np.ndarray, threshold: float = 0.7) -> tuple[int | None, float]:
    """The contract's section 5, on decoded masks: the chosen candidate and its IoU."""
    candidates = line["candidates"]
    decoded = [coco_mask.decode({"size": c["mask"]["size"], "counts": c["mask"]["counts"].encode()}).astype(bool)
               for c in candidates]
    empty = np.zeros(gt.shape, dtype=bool)
    if mode == "given":
        chosen = None if line["selected"] == "none" else line["selected"]
    elif mode == "oracle":
        if not gt.any():
            return None, 1.0
        ious = [_iou(m, gt) for m in decoded]
        chosen = max(range(len(ious)), key=lambda k: (ious[k], k))
    else:
        chosen = max(range(len(candidates)), key=lambda k: (candidates[k]["score"], k))
        if candidates[chosen]["score"] < threshold:
            chosen = None
    return chosen, _iou(decoded[chosen] if chosen is not None else empty, gt)


def _write_predictions(path, benchmark: str, reference, seed: int) -> dict[int, dict]:
    rng = np.random.default_rng(seed)
    ids = list(reference.rows)[:-1]  # the last row is missing
    rng.shuffle(ids)  # lines in no particular order
    lines, vqa = [], {}
    for i in ids:
        gt = rle.decode(reference.rows[i].mask)
        masks = _candidate_masks(rng, gt, 9)
        candidates = [{"mask": rle.encode(m), "phrase": "it", "char_start": 0, "char_end": 2,
                       "score": float(rng.choice([0.3, 0.7, 0.9, 0.9]))} for m in masks]
        selected = "none" if rng.random() < 0.2 else int(rng.integers(0, len(candidates)))
        vqa[i] = {"benchmark": benchmark, "id": i, "probe": "vqa", "response": "it is A.",
                  "candidates": candidates, "selected": selected}
        lines += [vqa[i], {"benchmark": benchmark, "id": i, "probe": "segment", "mask": candidates[0]["mask"]},
                  {"benchmark": benchmark, "id": i, "probe": "letter", "response": "A"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return vqa


@pytest.mark.parametrize("mode", ["given", "oracle", "score"])
def test_scores_on_realistic_masks_equal_a_dense_implementation(tmp_path, tiny_built, capsys, mode):
    for benchmark, folder in (("pixmmvp", tiny_built["pixmmvp"]), ("pixcvbench", tiny_built["pixcvbench"])):
        reference = load_reference(benchmark, str(folder))
        path = tmp_path / f"{benchmark}.jsonl"
        vqa = _write_predictions(path, benchmark, reference, seed=len(mode))
        rows = tmp_path / f"{benchmark}-{mode}-rows.jsonl"
        assert main(["score", str(path), "--data", f"{benchmark}={folder}", "--no-judge", "--select", mode,
                     "--format", "json", "--per-sample", str(rows)]) == 0
        (result,) = json.loads(capsys.readouterr().out)["results"]
        records = {(r["id"], r["probe"]): r for r in map(json.loads, rows.read_text().splitlines())}
        dense = {}
        for i, row in reference.rows.items():
            gt = rle.decode(row.mask)
            if i not in vqa:
                dense[i] = (None, 0.0)
                assert records[(i, "vqa")]["missing"] and records[(i, "vqa")]["iou"] == 0.0
                continue
            dense[i] = _dense_choice(mode, vqa[i], gt)
            record = records[(i, "vqa")]
            assert (record["candidate"], record["iou"]) == (dense[i][0], round(dense[i][1], 6)), (benchmark, i)
            first = rle.decode(vqa[i]["candidates"][0]["mask"])
            assert records[(i, "segment")]["iou"] == round(_iou(first, gt), 6)
        if benchmark == "pixmmvp":  # M over the rows with an expression
            rows_of_m = [i for i, row in reference.rows.items() if row.expression is not None]
            assert result["metrics"]["M_dagger"] == pytest.approx(100 * np.mean([dense[i][1] for i in rows_of_m]),
                                                                  abs=1e-4)


# ------------------------------------------------------------------------------------------- decoding


def _reference_runs(counts: str) -> list[int] | None:
    """pycocotools' ``rleFrString``, line by line in Python, with pixbench's refusals (a character outside
    '0'..'o', a string ending inside a run, a run of more than 6 characters): the runs, or ``None``."""
    runs: list[int] = []
    position = 0
    if any(not 0 <= ord(ch) - 48 <= 63 for ch in counts):
        return None
    while position < len(counts):
        value, k, more = 0, 0, True
        while more:
            if position >= len(counts):
                return None
            code = ord(counts[position]) - 48
            value |= (code & 0x1F) << (5 * k)
            more = bool(code & 0x20)
            position, k = position + 1, k + 1
            if not more and code & 0x10:
                value |= -1 << (5 * k)
        if k > 6:
            return None
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


_ALPHABET = "".join(chr(c) for c in range(48, 112))
_strings = st.one_of(
    st.text(_ALPHABET, max_size=40),
    st.text("0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno/p ", max_size=12),
    st.builds(lambda bits, w: rle.encode(np.array(bits, bool).reshape(-1, w))["counts"],
              st.lists(st.booleans(), min_size=12, max_size=12), st.sampled_from([1, 2, 3, 4, 6, 12])),
    st.builds(lambda n, v: rle.encode(np.arange(n * 64).reshape(n, 64) % v < v // 2)["counts"],
              st.integers(1, 400), st.integers(2, 5000)),  # long runs: 3 to 5 characters
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_strings, st.integers(0, 3)), max_size=25), st.integers(8, 200))
def test_batched_decoding_equals_pycocotools_string_reader(items, chunk):
    counts = [text for text, _ in items]
    expected_runs = [_reference_runs(text) for text in counts]
    # the pixel count each string claims: its runs' sum (valid), or off by one (refused)
    pixels = [sum(runs) + (offset == 3) if runs is not None else 12 for runs, (_, offset) in zip(expected_runs, items)]
    original = rle._CHUNK_CHARS
    try:
        rle._CHUNK_CHARS = chunk  # many chunk boundaries, long strings alone
        problems = rle.check_counts_many(counts, pixels)
        batch = rle.decode_runs_many(counts)
    finally:
        rle._CHUNK_CHARS = original
    for k, runs in enumerate(expected_runs):
        valid = runs is not None and min(runs, default=0) >= 0 and sum(runs) == pixels[k]
        assert (problems[k] is None) == valid, (counts[k], problems[k], runs)
        if runs is not None and k not in batch.flagged:
            assert batch.runs[batch.first[k]:batch.first[k + 1]].tolist() == runs
        else:
            assert k in batch.flagged
        if valid and runs:
            decoded = rle.foreground_many([counts[k]], [pixels[k]])
            ends = np.cumsum(runs + [0] * (len(runs) % 2))  # an odd count ends in an empty interval
            assert decoded.starts.tolist() == ends[0::2].tolist()
            assert decoded.ends.tolist() == ends[1::2].tolist()
            assert decoded.areas.tolist() == [sum(runs[1::2])]


# ------------------------------------------------------------------------------------------- reading


def test_candidates_read_in_one_pass_or_named_one_by_one(tmp_path, tiny_built):
    size = [96, 128]
    plain = {"mask": rle.encode(np.eye(96, 128, dtype=bool)), "phrase": "it", "char_start": 0, "char_end": 2,
             "score": 0.5}
    broken = {
        2: ({**plain, "score": math.nan}, "`candidates[3].score` must be a finite number, but got nan"),
        3: ({**plain, "mask": {"size": [96, 127], "counts": plain["mask"]["counts"]}},
            "`candidates[3].mask` size [96, 127] != ground truth [96, 128]"),
        4: ({**plain, "char_start": -1}, "`candidates[3].char_start` must be a non-negative int, but got -1"),
        5: ({**plain, "scroe": 0.5}, "unknown field `candidates[3].scroe`; did you mean `score`?"),
        6: ({**plain, "mask": {"size": [True, 128], "counts": plain["mask"]["counts"]}}, "`candidates[3].mask.size`"),
    }
    lines = [{"benchmark": "pixmmvp", "id": 1, "probe": "vqa", "response": "it is A.",
              "candidates": [plain, {**plain, "score": 1, "point": [3, 4]}, plain]}]  # an int score, a point
    for i, (bad, _) in broken.items():
        lines.append({"benchmark": "pixmmvp", "id": i, "probe": "vqa", "response": "it",
                      "candidates": [plain, plain, plain, bad, plain]})
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    reference = load_reference("pixmmvp", str(tiny_built["pixmmvp"]))
    read = read_predictions(path, index={"pixmmvp": reference.sizes}, options=ReadOptions())
    assert [(p.line, p.id, p.message) for p in read.problems] == [
        (number, i, message) for number, (i, (_, message)) in enumerate(broken.items(), start=2)
        if not message.endswith("`")] + [(6, 6, read.problems[-1].message)]
    assert read.problems[-1].message.startswith("`candidates[3].mask.size` must be [height, width] of ints")
    (good,) = read.predictions
    assert [c.score for c in good.candidates or ()] == [0.5, 1, 0.5]
    assert (good.candidates or ())[1].point == (3.0, 4.0)
    assert all(c.mask == {"size": size, "counts": plain["mask"]["counts"]} for c in good.candidates or ())


# ------------------------------------------------------------------------------------------- start-up


def test_score_imports_only_what_scoring_needs(tmp_path, tiny_built):
    path = tmp_path / "lines.jsonl"
    mask = rle.encode(np.eye(96, 128, dtype=bool))
    path.write_text(json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": mask}) + "\n")
    script = ("import json, sys\nfrom pixbench.cli import main\n"
              f"code = main(['score', {str(path)!r}, '--data', 'pixmmvp={tiny_built['pixmmvp']}', '--no-judge', "
              f"'--format', 'json', '--output', {str(tmp_path / 'out.json')!r}])\n"
              "print(json.dumps([code, sorted(sys.modules)]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0 and json.loads((tmp_path / "out.json").read_text())["results"][0]["metrics"]["M"] is not None
    others = {f"pixbench.cli.{name}" for name in COMMAND_MODULES} - {"pixbench.cli.score"}
    assert not [m for m in modules if m in others or m.startswith(("PIL", "matplotlib", "torch", "openai"))]


def test_each_command_is_in_the_module_that_declares_it():
    declared = {}
    for name in COMMAND_MODULES:
        subparsers = next(a for a in build_parser((name,))._actions if isinstance(a, argparse._SubParsersAction))
        declared.update(dict.fromkeys(subparsers.choices, name))
    assert {command: module for command, module in declared.items() if command in COMMAND_MODULE} == COMMAND_MODULE
    # the rest are a benchmark's tools, named by the registry: found by building every command
    from pixbench.benchmarks import REGISTRY

    assert set(declared) - set(COMMAND_MODULE) <= set(REGISTRY)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator settings")
def test_a_score_run_reuses_the_memory_it_frees(tmp_path, tiny_built):
    """After ``pixbench score`` has set the allocator up, arrays freed together are reused, not handed back
    to the system and faulted in again (glibc's default gives back all but 2 MB here, each cycle)."""
    path = tmp_path / "lines.jsonl"
    path.write_text(json.dumps({"benchmark": "pixmmvp", "id": 1, "probe": "segment", "mask": None}) + "\n")
    script = ("import json, resource\nimport numpy as np\nfrom pixbench.cli import main\n"
              f"main(['score', {str(path)!r}, '--data', 'pixmmvp={tiny_built['pixmmvp']}', '--no-judge', "
              f"'--output', {str(tmp_path / 'out.txt')!r}])\n"
              "faults = []\n"
              "for _ in range(4):\n"
              "    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
              "    arrays = [np.ones(1 << 17) for _ in range(20)]  # 20 MiB in 1 MiB arrays, then freed\n"
              "    del arrays\n"
              "    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
              "print(json.dumps(faults))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    faults = json.loads(done.stdout.splitlines()[-1])
    if faults[0] == 0:
        pytest.skip("the first cycle faulted nothing: no fresh memory to measure here")
    assert max(faults[1:]) < faults[0] / 10, faults
