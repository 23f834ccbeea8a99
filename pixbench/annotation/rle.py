"""COCO run-length encoding (RLE): pixbench's one mask format.

An RLE is a dict ``{"size": [h, w], "counts": str}``. ``counts`` is COCO's compressed string: the run
lengths of a column-major (Fortran-order) scan of the ``h x w`` binary mask, starting with a run of
zeros, packed by pycocotools into printable ASCII. Uncompressed RLE (``counts`` a list of ints) is
accepted on input and converted. Everything pixbench stores, compares or scores is this dict, so the
functions here take and return it, never pycocotools' bytes form.

All geometry is in pixels: polygons are flat ``[x1, y1, x2, y2, ...]`` lists (x = column, y = row)
rasterised exactly as COCO does (``frPyObjects`` then ``merge``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from PIL import Image
from pycocotools import mask as coco_mask

# pycocotools' area() overflows on lists of 256 or more RLEs under numpy 2.
_AREA_BATCH = 255
#: Characters decoded per vectorised pass (bounds the decoder's temporaries).
_CHUNK_CHARS = 1 << 21
#: pycocotools decodes a run of up to 6 characters (30 bits) exactly; longer ones overflow its int
#: arithmetic, so they are refused (no mask of up to 2**28 pixels needs them).
_MAX_RUN_CHARS = 6


class Rle(TypedDict):
    """Compressed COCO RLE with text counts."""

    size: list[int]
    counts: str


class MaskError(ValueError):
    """A mask that cannot be decoded or does not fit where it is used."""


def _to_coco(rle: Mapping[str, Any]) -> dict[str, Any]:
    """The pycocotools form of a compressed RLE (counts as bytes)."""
    counts = rle["counts"]
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def _from_coco(coco: Mapping[str, Any]) -> Rle:
    counts = coco["counts"]
    return {"size": [int(coco["size"][0]), int(coco["size"][1])],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else str(counts)}


def encode(mask: np.ndarray) -> Rle:
    """Encode a 2-D binary mask (any dtype; non-zero is foreground) as compressed RLE."""
    if mask.ndim != 2:
        raise MaskError(f"Expected a 2-D mask, but got shape {mask.shape}")
    binary = np.asfortranarray(mask != 0, dtype=np.uint8)
    return _from_coco(coco_mask.encode(binary))


def decode(rle: Mapping[str, Any]) -> np.ndarray:
    """Decode an RLE to a boolean ``h x w`` array."""
    return coco_mask.decode(_to_coco(normalize(rle))).astype(bool)


def empty(height: int, width: int) -> Rle:
    """The all-background mask of the given size."""
    return encode(np.zeros((height, width), dtype=np.uint8))


def size_of(rle: Mapping[str, Any]) -> tuple[int, int]:
    """``(height, width)`` of an RLE."""
    return int(rle["size"][0]), int(rle["size"][1])


def normalize(rle: Mapping[str, Any]) -> Rle:
    """Return a compressed, text-counts RLE; accept compressed (str/bytes) or uncompressed counts.

    Raises :class:`MaskError` when the dict is not an RLE or its runs do not add up to ``h * w``.
    """
    if not isinstance(rle, Mapping) or "size" not in rle or "counts" not in rle:
        raise MaskError(f"Expected an RLE dict with 'size' and 'counts', but got {_short(rle)}")
    size = rle["size"]
    if (not isinstance(size, Sequence) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
                       for v in size)):
        raise MaskError(f"Expected RLE 'size' to be [height, width] of non-negative ints, but got {size!r}")
    height, width = int(size[0]), int(size[1])
    counts = rle["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise MaskError("Expected uncompressed RLE 'counts' to be non-negative ints")
        if sum(int(c) for c in counts) != height * width:
            raise MaskError(f"Uncompressed RLE runs sum to {sum(int(c) for c in counts)}, "
                            f"expected height*width = {height * width}")
        coco = coco_mask.frPyObjects({"size": [height, width], "counts": [int(c) for c in counts]},
                                     height, width)
        return _from_coco(coco)
    if isinstance(counts, bytes):
        counts = counts.decode("ascii", errors="replace")
    if not isinstance(counts, str):
        raise MaskError(f"Expected RLE 'counts' to be a string or a list of ints, but got {type(counts).__name__}")
    result: Rle = {"size": [height, width], "counts": counts}
    _check_runs(result)
    return result


def run_lengths(counts: str) -> np.ndarray:
    """Decode COCO's compressed ``counts`` string to its run lengths (int64), vectorised.

    pycocotools does not validate compressed strings (a corrupt one makes it write past its buffer),
    so pixbench decodes the runs itself to reject bad input before it reaches the C code. Each run is
    a little-endian sequence of 5-bit groups (bit 0x20 = more follows, bit 0x10 of the last group =
    negative); from the fourth run on, each value is a difference to the run two places before.
    """
    codes = np.frombuffer(counts.encode("ascii", errors="replace"), dtype=np.uint8).astype(np.int64) - 48
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    if codes.min() < 0 or codes.max() > 63:
        raise MaskError("RLE 'counts' holds characters outside COCO's alphabet ('0'..'o')")
    last = (codes & 0x20) == 0
    if not last[-1]:
        raise MaskError("RLE 'counts' ends in the middle of a run")
    run_index = np.concatenate(([0], np.cumsum(last)[:-1]))
    starts = np.flatnonzero(np.concatenate(([True], last[:-1])))
    position = np.arange(codes.size) - starts[run_index]
    if position.max() > 11:
        raise MaskError("RLE 'counts' holds a run longer than 60 bits")
    values = np.bincount(run_index, weights=(codes & 0x1F) << (5 * position)).astype(np.int64)
    lengths = position[last] + 1
    negative = (codes[last] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    runs = values.copy()
    if runs.size > 3:
        runs[3::2] = np.cumsum(values[1::2])[1:]
        runs[4::2] = np.cumsum(values[2::2])[1:]
    return runs


def _check_runs(rle: Rle) -> None:
    """Raise :class:`MaskError` unless the runs are non-negative and cover exactly ``h * w`` pixels."""
    problem = check_counts_many([rle["counts"]], [rle["size"][0] * rle["size"][1]])[0]
    if problem is not None:
        raise MaskError(problem)


@dataclass(frozen=True)
class RunBatch:
    """The decoded runs of many compressed ``counts`` strings, concatenated.

    ``runs[first[k]:first[k + 1]]`` are string ``k``'s run lengths (background first); ``owner[j]`` is
    the string of run ``j``. ``flagged`` maps strings that could not be decoded to the reason.
    """

    runs: np.ndarray
    owner: np.ndarray
    first: np.ndarray
    flagged: dict[int, str]


class RunsCache:
    """Decoded runs kept for reuse, keyed by string content: a predictions file's masks are decoded once
    when validated (:func:`check_counts_many` with ``cache=``) and their runs are reused when scoring
    (:func:`decode_runs_many` with the same cache). Passed explicitly; it holds what was stored in it.

    Runs are kept compact (32-bit lengths: a valid mask has at most 2**28 pixels; no owner array), 4 bytes
    a run; only strings that decoded to a valid mask are kept.
    """

    def __init__(self) -> None:
        self.position: dict[str, int] = {}
        self._runs: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self._merged: tuple[np.ndarray, np.ndarray] | None = None
        self._count = 0

    def store(self, counts: Sequence[str], batch: RunBatch, valid: Sequence[bool] | None = None) -> None:
        """Keep the runs of ``counts`` (those marked ``valid``; by default those not flagged)."""
        sizes = np.diff(batch.first)
        keep = np.array([k not in batch.flagged for k in range(len(counts))] if valid is None else valid, bool)
        keep &= np.array([text not in self.position for text in counts], dtype=bool) if self.position else True
        if not keep.any():
            return
        kept_runs = batch.runs[np.repeat(keep, sizes)]
        if kept_runs.size and (kept_runs.min() < 0 or kept_runs.max() > np.iinfo(np.int32).max):
            return  # not runs of a valid mask: nothing to reuse
        for k in np.flatnonzero(keep).tolist():
            self.position.setdefault(counts[k], self._count)
            self._count += 1
        self._runs.append(kept_runs.astype(np.int32))
        self._sizes.append(sizes[keep])
        self._merged = None

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        """``(runs, first)`` of everything stored, merged once into one array."""
        if self._merged is None:
            runs = np.concatenate(self._runs) if self._runs else np.zeros(0, np.int32)
            sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)
            self._runs, self._sizes = [runs], [sizes]
            self._merged = runs, np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        return self._merged

    def lookup(self, counts: Sequence[str]) -> RunBatch | None:
        """The runs of ``counts`` gathered from the cache, or ``None`` unless all of them are there."""
        if not counts or not self.position:
            return None
        try:
            picked = np.fromiter((self.position[text] for text in counts), dtype=np.int64, count=len(counts))
        except (KeyError, TypeError):
            return None
        runs, first_all = self._all()
        sizes = first_all[picked + 1] - first_all[picked]
        first = np.concatenate(([0], np.cumsum(sizes)))
        owner = np.repeat(np.arange(len(counts)), sizes)
        index = np.arange(int(first[-1])) - first[owner] + first_all[picked][owner]
        return RunBatch(runs[index].astype(np.int64), owner, first, {})


def decode_runs_many(counts: Sequence[str], *, cache: RunsCache | None = None, store: bool = True) -> RunBatch:
    """Decode many compressed ``counts`` strings to their runs in one vectorised pass (no pixels).

    With ``cache``, strings it holds are served from it, and a batch decoded here is stored in it unless
    ``store`` is false.
    """
    if cache is not None:
        cached = cache.lookup(counts)
        if cached is not None:
            return cached
    batch = _decode_runs_many(counts)
    if cache is not None and store:
        cache.store(counts, batch)
    return batch


def _chunks(lengths: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` string ranges of about :data:`_CHUNK_CHARS` characters each (a longer string alone)."""
    count = lengths.size
    if int(lengths.sum()) <= _CHUNK_CHARS:
        return [(0, count)] if count else []
    ends = np.cumsum(lengths)
    out = []
    start = 0
    while start < count:
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + _CHUNK_CHARS, side="right")), start + 1)
        out.append((start, stop))
        start = stop
    return out


def _decode_runs_many(counts: Sequence[str]) -> RunBatch:
    """Decode in chunks of about :data:`_CHUNK_CHARS` characters, so that the temporaries (tens of
    bytes per character) stay bounded whatever the number of strings; a longer string is one chunk."""
    count = len(counts)
    lengths = np.fromiter((len(c) for c in counts), dtype=np.int64, count=count)
    chunks = _chunks(lengths)
    if len(chunks) <= 1:
        return _decode_chunk(counts, lengths)
    batches = [_decode_chunk(counts[start:stop], lengths[start:stop]) for start, stop in chunks]
    runs = np.concatenate([b.runs for b in batches])
    owner_offsets = np.cumsum([0] + [b.first.size - 1 for b in batches])
    run_offsets = np.cumsum([0] + [b.runs.size for b in batches])
    owner = np.concatenate([b.owner + o for b, o in zip(batches, owner_offsets)])
    first = np.concatenate([[0]] + [b.first[1:] + r for b, r in zip(batches, run_offsets)])
    flagged = {int(k + o): message for b, o in zip(batches, owner_offsets) for k, message in b.flagged.items()}
    return RunBatch(runs, owner, first, flagged)


def _decode_chunk(counts: Sequence[str], lengths: np.ndarray) -> RunBatch:
    count = len(counts)
    flagged: dict[int, str] = {}
    codes = np.frombuffer("".join(counts).encode("ascii", errors="replace"), dtype=np.uint8) - np.uint8(48)
    if codes.size == 0:
        return RunBatch(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(count + 1, np.int64), flagged)
    string_start = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)

    def flag(char_positions: np.ndarray, message: str) -> None:
        for owner in np.unique(np.searchsorted(string_start, char_positions, side="right") - 1):
            flagged.setdefault(int(owner), message)

    outside = codes > 63  # below '0' wraps around to large values
    if outside.any():
        flag(np.flatnonzero(outside), "RLE 'counts' holds characters outside COCO's alphabet ('0'..'o')")
        codes = np.where(outside, np.uint8(0), codes)
    del outside
    last = codes < 32  # a character without the "more" bit ends its run
    string_end = (string_start + lengths - 1)[lengths > 0]
    unterminated = string_end[~last[string_end]]
    if unterminated.size:
        flag(unterminated, "RLE 'counts' ends in the middle of a run")
        last[unterminated] = True  # keep runs aligned with strings; the string is reported anyway
    run_last = np.flatnonzero(last)
    del last
    run_chars = np.diff(run_last, prepend=-1)
    longest = int(run_chars.max())
    if longest > _MAX_RUN_CHARS:
        flag(run_last[run_chars > _MAX_RUN_CHARS], f"RLE 'counts' holds a run longer than {5 * _MAX_RUN_CHARS} bits")
        run_chars = np.minimum(run_chars, _MAX_RUN_CHARS)
        longest = _MAX_RUN_CHARS
    # a run's value: 5 bits a character, least significant first; bit 0x10 of the last one is the sign
    last_codes = codes[run_last]
    values = (last_codes & 0x1F).astype(np.int64)
    if longest > 1:
        multi = np.flatnonzero(run_chars > 1)
        chars = run_chars[multi]
        values[multi] <<= 5 * (chars - 1)
        for k in range(longest - 1):
            longer = multi[chars > k + 1]
            values[longer] += (codes[run_last[longer] - run_chars[longer] + 1 + k] & 0x1F).astype(np.int64) << (5 * k)
    negative = np.flatnonzero(last_codes & 0x10)
    values[negative] -= np.left_shift(1, 5 * run_chars[negative])
    del codes, last_codes, run_chars
    # first[k]: string k's first run; owner: each run's string
    first = np.append(np.searchsorted(run_last, string_start), run_last.size)
    del run_last
    owner = np.repeat(np.arange(count), np.diff(first))
    # From the fourth run on, a value is a difference to the run two places before (local index i >= 3:
    # run[i] = value[i] + run[i - 2]): odd runs are a cumulative sum of the odd values from local 1 on,
    # even runs of the even values from local 2 on. Both are cumulative sums over the global stride-2
    # views, minus what the strings before (and a string's own local 0) contributed.
    cumulative = np.empty_like(values)
    cumulative[0::2] = np.cumsum(values[0::2])
    cumulative[1::2] = np.cumsum(values[1::2])
    starts = first[:-1]
    previous = np.where(starts >= 1, cumulative[np.maximum(starts - 1, 0)], 0)  # before local 1 (odd chain)
    through_zero = cumulative[np.minimum(starts, max(values.size - 1, 0))] if values.size else starts  # local 0
    start_odd = (starts & 1) == 1
    base_even_global = np.where(start_odd, previous, through_zero)  # global parity 0 runs
    base_odd_global = np.where(start_odd, through_zero, previous)
    runs = np.empty_like(values)
    runs[0::2] = cumulative[0::2] - base_even_global[owner[0::2]]
    runs[1::2] = cumulative[1::2] - base_odd_global[owner[1::2]]
    nonempty = starts[first[1:] > starts]
    runs[nonempty] = values[nonempty]  # local 0 is not delta-coded
    return RunBatch(runs, owner, first, flagged)


def check_counts_many(counts: Sequence[str], pixels: Sequence[int], *,
                      cache: RunsCache | None = None) -> list[str | None]:
    """Validate many compressed ``counts`` strings at once: a problem message per string, or ``None``.

    The vectorised form of :func:`run_lengths` over a whole predictions file (tens of thousands of
    masks): every run must be non-negative and the runs must cover exactly ``pixels[k]`` pixels. Strings
    are decoded in chunks of about :data:`_CHUNK_CHARS` characters (bounded temporaries); with ``cache``
    the runs of the valid ones are kept there for scoring.
    """
    count = len(counts)
    problems: list[str | None] = [None] * count
    lengths = np.fromiter((len(c) for c in counts), dtype=np.int64, count=count)
    expected = np.asarray(pixels, dtype=np.int64).reshape(count)
    for start, stop in _chunks(lengths):
        batch = _decode_chunk(counts[start:stop], lengths[start:stop])
        size = stop - start
        negative_run = np.bincount(batch.owner, weights=batch.runs < 0, minlength=size) > 0
        totals = np.bincount(batch.owner, weights=batch.runs, minlength=size).astype(np.int64)
        wrong = negative_run | (totals != expected[start:stop])
        for k in [*map(int, np.flatnonzero(wrong)), *batch.flagged]:
            if k in batch.flagged:
                problems[start + k] = batch.flagged[k]
            elif negative_run[k]:
                problems[start + k] = "RLE 'counts' decodes to a negative run length"
            else:
                problems[start + k] = (f"RLE runs cover {totals[k]} pixels, expected height*width = "
                                       f"{expected[start + k]}")
        if cache is not None:
            valid = ~wrong
            for k in batch.flagged:
                valid[k] = False
            cache.store(counts[start:stop], batch, valid.tolist())
    return problems


def from_polygons(polygons: Sequence[Sequence[float]], height: int, width: int) -> Rle:
    """Rasterise polygons (flat ``[x1, y1, ...]`` pixel lists) as COCO does, union of all parts."""
    parts = [[float(v) for v in polygon] for polygon in polygons if len(polygon) >= 6]
    if not parts:
        return empty(height, width)
    return _from_coco(coco_mask.merge(coco_mask.frPyObjects(parts, height, width)))


def area(rles: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Foreground pixel count of each RLE (int64), computed on the runs without decoding."""
    return coco_areas([_to_coco(r) for r in rles])


def coco_areas(coco: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """:func:`area` of RLEs already in pycocotools' form (counts as bytes), in batches of 255 (pycocotools'
    ``area()`` overflows on 256 or more under numpy 2)."""
    out = np.zeros(len(coco), dtype=np.int64)
    for start in range(0, len(coco), _AREA_BATCH):
        batch = list(coco[start:start + _AREA_BATCH])
        out[start:start + len(batch)] = np.asarray(coco_mask.area(batch), dtype=np.int64)
    return out


def union(rles: Sequence[Mapping[str, Any]], height: int, width: int) -> Rle:
    """Pixel-wise OR of RLEs of size ``(height, width)``; the empty mask for an empty list."""
    if not rles:
        return empty(height, width)
    for rle in rles:
        if size_of(rle) != (height, width):
            raise MaskError(f"Cannot unite masks of size {list(size_of(rle))} into [{height}, {width}]")
    return _from_coco(coco_mask.merge([_to_coco(r) for r in rles], intersect=0))


def intersection_area(first: Mapping[str, Any], second: Mapping[str, Any]) -> int:
    """``|first AND second|`` in pixels, on the runs."""
    if size_of(first) != size_of(second):
        raise MaskError(f"Mask sizes differ: {list(size_of(first))} != {list(size_of(second))}")
    merged = coco_mask.merge([_to_coco(first), _to_coco(second)], intersect=1)
    return int(coco_mask.area(merged))


def resize_nearest(rle: Mapping[str, Any], height: int, width: int) -> Rle:
    """Resize a mask to ``(height, width)`` by nearest-neighbour sampling at pixel centres.

    Output pixel ``(r, c)`` takes the source pixel ``(floor((r + 0.5) * h_src / height),
    floor((c + 0.5) * w_src / width))``, computed exactly
    in integers (PIL's ``NEAREST`` rule, without its float rounding). A mask already of that size is returned as is.
    """
    if size_of(rle) == (height, width):
        return normalize(rle)
    source = decode(rle)
    if source.size == 0:
        return empty(height, width)
    # Exact integer form of floor((i + 0.5) * src / dst), free of float rounding at half-way points.
    rows = (2 * np.arange(height, dtype=np.int64) + 1) * source.shape[0] // (2 * height)
    cols = (2 * np.arange(width, dtype=np.int64) + 1) * source.shape[1] // (2 * width)
    return encode(source[np.ix_(rows, cols)])


def foreground_intervals(rle: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the foreground runs as column-major pixel offsets (``[start, end)``, int64)."""
    runs = run_lengths(normalize(rle)["counts"])
    ends = np.cumsum(runs)
    return ends[0::2][: runs.size // 2], ends[1::2]


def from_intervals(starts: np.ndarray, ends: np.ndarray, height: int, width: int) -> Rle:
    """The mask of ``height x width`` whose foreground is the sorted, disjoint column-major intervals
    ``[starts[k], ends[k])`` (touching intervals are merged)."""
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if starts.size:
        joined = np.flatnonzero(starts[1:] == ends[:-1])  # an interval that begins where the last ended
        if joined.size:
            first = np.ones(starts.size, dtype=bool)
            first[joined + 1] = False
            starts = starts[first]
            ends = np.maximum.reduceat(ends, np.flatnonzero(first))
    edges = np.empty(2 * starts.size + 2, dtype=np.int64)
    edges[0], edges[-1] = 0, height * width
    edges[1:-1:2], edges[2:-1:2] = starts, ends
    runs = np.diff(edges)
    if runs.size > 1 and runs[-1] == 0:
        runs = runs[:-1]
    return _from_coco(coco_mask.frPyObjects({"size": [height, width], "counts": runs.tolist()}, height, width))


def _column_pieces(rle: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The foreground as ``(column, first row, end row)`` pieces, one per column a run crosses."""
    height = size_of(rle)[0]
    starts, ends = foreground_intervals(rle)
    if starts.size == 0 or height == 0:
        empty_ = np.zeros(0, dtype=np.int64)
        return empty_, empty_, empty_
    first_col, last_col = starts // height, (ends - 1) // height
    count = last_col - first_col + 1
    owner = np.repeat(np.arange(starts.size), count)
    column = first_col[owner] + (np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count))
    top = np.maximum(starts[owner] - column * height, 0)
    bottom = np.minimum(ends[owner] - column * height, height)
    return column, top, bottom


def place(rle: Mapping[str, Any], height: int, width: int, *, row: int = 0, column: int = 0) -> Rle:
    """The mask on a ``height x width`` canvas with ``rle`` pasted at (``row``, ``column``) and the rest
    empty, computed on the runs (no pixels); the pasted mask must fit."""
    source_h, source_w = size_of(rle)
    if row < 0 or column < 0 or row + source_h > height or column + source_w > width:
        raise MaskError(f"Cannot place a {source_h}x{source_w} mask at ({row}, {column}) of {height}x{width}")
    cols, tops, bottoms = _column_pieces(rle)
    offset = (cols + column) * height + row
    return from_intervals(offset + tops, offset + bottoms, height, width)


def crop(rle: Mapping[str, Any], rows: slice, columns: slice) -> Rle:
    """The ``rows x columns`` window of a mask (slices with explicit, in-range start and stop), on the runs."""
    height, width = size_of(rle)
    r0, r1 = rows.indices(height)[:2]
    c0, c1 = columns.indices(width)[:2]
    cols, tops, bottoms = _column_pieces(rle)
    keep = (cols >= c0) & (cols < c1) & (bottoms > r0) & (tops < r1)
    cols, tops, bottoms = cols[keep], np.maximum(tops[keep], r0), np.minimum(bottoms[keep], r1)
    out_h = r1 - r0
    offset = (cols - c0) * out_h - r0
    return from_intervals(offset + tops, offset + bottoms, out_h, c1 - c0)


def read_png(path: str | Any, *, expected: tuple[int, int] | None = None, max_pixels: int | None = None) -> np.ndarray:
    """A mask from a PNG file: any non-zero pixel (any channel) is foreground.

    The size is read from the header and checked before any pixel is decoded: it must be ``expected``
    (``(height, width)``) when given, and have at most ``max_pixels`` pixels; else :class:`MaskError`.
    """
    with Image.open(path) as image:
        width, height = image.size
        if expected is not None and (height, width) != tuple(expected):
            raise MaskError(f"size [{height}, {width}] != ground truth {list(expected)}")
        if max_pixels is not None and height * width > max_pixels:
            raise MaskError(f"{height}x{width} pixels is more than the {max_pixels:,} a mask may have")
        array = np.asarray(image)
    return np.asarray(array.any(axis=2) if array.ndim == 3 else array != 0, dtype=bool)


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
