"""COCO run-length encoding (RLE): pixbench's one mask format.

An RLE is a dict ``{"size": [h, w], "counts": str}``. ``counts`` is COCO's compressed string: the run
lengths of a column-major (Fortran-order) scan of the ``h x w`` binary mask, starting with a run of
zeros, packed by pycocotools into printable ASCII. Uncompressed RLE (``counts`` a list of ints) is
accepted on input and converted. Everything pixbench stores, compares or scores is this dict, so the
functions here take and return it, never pycocotools' bytes form.

All geometry is in pixels: polygons are flat ``[x1, y1, x2, y2, ...]`` lists (x = column, y = row)
rasterised exactly as COCO does (``frPyObjects`` then ``merge``).

Many masks at once (a predictions file's tens of thousands): :func:`check_counts_many` validates the
strings in one vectorised pass over chunks of characters, without a pixel, and can keep each mask's
foreground intervals (:class:`Foreground`) in a :class:`RunsCache`, which :func:`foreground_many` serves
when scoring, so a mask is decoded once; :func:`decode_runs_many` gives the runs themselves.

PNG mask files are read by :mod:`pixbench.annotation.png`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from pycocotools import mask as coco_mask

# pycocotools' area() overflows on lists of 256 or more RLEs under numpy 2.
_AREA_BATCH = 255
#: Characters decoded per vectorised pass: few enough for the decoder's temporaries (tens of bytes a
#: character) to stay in the processor's caches, enough for numpy's cost per call not to matter.
_CHUNK_CHARS = 1 << 16
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
    """The all-background mask of the given size: one run of ``height * width`` zeros, made without pixels.

    Examples:
        >>> empty(2, 3) == encode(np.zeros((2, 3)))
        True
    """
    return _from_coco(coco_mask.frPyObjects({"size": [height, width], "counts": [height * width]}, height, width))


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


@dataclass(frozen=True)
class Foreground:
    """The foreground of many masks as column-major pixel intervals: what scoring needs of a mask.

    Mask ``k``'s foreground is the intervals ``[starts[j], ends[j])`` for ``j`` in ``range(lo[k], hi[k])``:
    sorted, disjoint, some possibly empty (a mask with an odd number of runs ends in one), ``areas[k]``
    pixels in all. The interval arrays (int32: a mask has at most 2**28 pixels) may be shared with other
    :class:`Foreground` objects (a cache's), each naming its masks' ranges (``lo``, ``hi``, ``areas``:
    int64), so that picking masks copies no interval.
    """

    starts: np.ndarray
    ends: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    areas: np.ndarray

    @classmethod
    def of(cls, starts: np.ndarray, ends: np.ndarray, first: np.ndarray, areas: np.ndarray) -> Foreground:
        """Masks whose intervals follow each other: mask ``k``'s are ``first[k]`` to ``first[k + 1] - 1``."""
        return cls(starts, ends, first[:-1], first[1:], areas)

    def take(self, index: np.ndarray) -> Foreground:
        """The masks ``index`` (an int array), in that order (no interval is copied)."""
        return Foreground(self.starts, self.ends, self.lo[index], self.hi[index], self.areas[index])

    def intervals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(starts, ends, first)``: the masks' intervals one mask after the other (mask ``k``'s are
        ``first[k]`` to ``first[k + 1] - 1``); views when they already are so."""
        sizes = self.hi - self.lo
        first = np.zeros(sizes.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=first[1:])
        if not sizes.size or bool(np.all(self.lo[1:] == self.hi[:-1])):
            lo = int(self.lo[0]) if sizes.size else 0
            return self.starts[lo:lo + int(first[-1])], self.ends[lo:lo + int(first[-1])], first
        picked = np.arange(int(first[-1]), dtype=np.int64) + np.repeat(self.lo - first[:-1], sizes)
        return self.starts[picked], self.ends[picked], first


class RunsCache:
    """Decoded masks kept for reuse, keyed by string content: a predictions file's masks are decoded once
    when validated (:func:`check_counts_many` with ``cache=``) and reused when scoring
    (:func:`foreground_many` and :func:`decode_runs_many` with the same cache). Passed explicitly; it holds
    what was stored in it.

    Each string is kept as its foreground intervals (:class:`Foreground`: two 32-bit offsets an interval,
    about 4 bytes a run), its number of runs and its pixel count; only strings that decoded to a valid
    mask are found again.
    """

    def __init__(self) -> None:
        self.position: dict[str, int] = {}
        self._parts: list[tuple[Foreground, np.ndarray, np.ndarray]] = []
        self._merged: tuple[Foreground, np.ndarray, np.ndarray] | None = None
        self._count = 0

    def add(self, counts: Sequence[str], valid: np.ndarray, decoded: Foreground, runs: np.ndarray,
            pixels: np.ndarray) -> None:
        """Keep ``counts`` decoded (``runs``: each string's run count; ``pixels``: its ``h * w``); those
        marked ``valid`` can be found again, unless an equal string already can."""
        for k in np.flatnonzero(valid).tolist():
            self.position.setdefault(counts[k], self._count + k)
        self._count += len(counts)
        self._parts.append((decoded, runs, pixels))
        self._merged = None

    def _all(self) -> tuple[Foreground, np.ndarray, np.ndarray]:
        """Everything kept, merged once into one :class:`Foreground`, with the run and pixel counts."""
        if self._merged is None:
            if len(self._parts) != 1:
                nothing = np.zeros(0, dtype=np.int64)
                parts = self._parts or [(Foreground.of(nothing.astype(np.int32), nothing.astype(np.int32),
                                                       np.zeros(1, dtype=np.int64), nothing), nothing, nothing)]
                shifts = np.cumsum([0] + [part[0].starts.size for part in parts])
                merged = Foreground(np.concatenate([part[0].starts for part in parts]),
                                    np.concatenate([part[0].ends for part in parts]),
                                    np.concatenate([part[0].lo + shift for part, shift in zip(parts, shifts)]),
                                    np.concatenate([part[0].hi + shift for part, shift in zip(parts, shifts)]),
                                    np.concatenate([part[0].areas for part in parts]))
                self._parts = [(merged, np.concatenate([part[1] for part in parts]),
                                np.concatenate([part[2] for part in parts]))]
            self._merged = self._parts[0]
        return self._merged

    def _picked(self, counts: Sequence[str]) -> np.ndarray | None:
        if not counts or not self.position:
            return None
        try:
            return np.fromiter((self.position[text] for text in counts), dtype=np.int64, count=len(counts))
        except (KeyError, TypeError):
            return None

    def foreground(self, counts: Sequence[str], pixels: np.ndarray) -> Foreground | None:
        """The foreground of ``counts`` from the cache, or ``None`` unless all of them are there, each
        kept as a mask of ``pixels[k]`` pixels."""
        picked = self._picked(counts)
        if picked is None:
            return None
        kept, _, kept_pixels = self._all()
        if not np.array_equal(kept_pixels[picked], pixels):
            return None
        return kept.take(picked)

    def lookup(self, counts: Sequence[str]) -> RunBatch | None:
        """The runs of ``counts`` from the cache, or ``None`` unless all of them are there."""
        picked = self._picked(counts)
        if picked is None:
            return None
        kept, run_counts, _ = self._all()
        starts, ends, first = kept.take(picked).intervals()
        background = starts.astype(np.int64)
        background[1:] -= ends[:-1]  # the gap since the last foreground run ...
        heads = first[:-1][np.diff(first) > 0]
        background[heads] = starts[heads]  # ... or, for a mask's first run, since its start
        foreground = (ends - starts).astype(np.int64)
        return _run_batch(_Pairs(background, foreground, first, run_counts[picked], {}))


def decode_runs_many(counts: Sequence[str], *, cache: RunsCache | None = None, store: bool = True) -> RunBatch:
    """Decode many compressed ``counts`` strings to their runs in one vectorised pass (no pixels).

    With ``cache``, strings it holds are served from it, and the strings of a batch decoded here are kept
    in it (those that decode) unless ``store`` is false.
    """
    if cache is not None:
        cached = cache.lookup(counts)
        if cached is not None:
            return cached
    batch = _decode_runs_many(counts)
    if cache is not None and store:
        decoded, problems, runs, totals = _decode_foreground(counts, None)
        valid = totals <= np.iinfo(np.int32).max  # what 32-bit offsets hold
        valid[list(problems)] = False
        cache.add(counts, valid, decoded, runs, totals)
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
    """Decode in chunks of about :data:`_CHUNK_CHARS` characters (bounded temporaries, whatever the number
    of strings; a longer string is one chunk)."""
    lengths = np.fromiter((len(c) for c in counts), dtype=np.int64, count=len(counts))
    buffers = _Buffers()
    return _concatenate([_run_batch(_decode_chunk(counts[start:stop], lengths[start:stop], buffers))
                         for start, stop in _chunks(lengths)], len(counts))


def _concatenate(batches: Sequence[RunBatch], count: int) -> RunBatch:
    if len(batches) == 1:
        return batches[0]
    if not batches:
        nothing = np.zeros(0, np.int64)
        return RunBatch(nothing, nothing, np.zeros(count + 1, np.int64), {})
    runs = np.concatenate([b.runs for b in batches])
    owner_offsets = np.cumsum([0] + [b.first.size - 1 for b in batches])
    run_offsets = np.cumsum([0] + [b.runs.size for b in batches])
    owner = np.concatenate([b.owner + o for b, o in zip(batches, owner_offsets)])
    first = np.concatenate([[0]] + [b.first[1:] + r for b, r in zip(batches, run_offsets)])
    flagged = {int(k + o): message for b, o in zip(batches, owner_offsets) for k, message in b.flagged.items()}
    return RunBatch(runs, owner, first, flagged)


class _Buffers:
    """Work arrays that one decoding call reuses from chunk to chunk (by name; grown when a chunk needs
    more). Decoding then allocates next to nothing per chunk: memory fresh from the system costs a page
    fault a 4 kB, more than decoding what it holds."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: type) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.size < size:
            array = self._arrays[name] = np.empty(max(size, 1024), dtype=dtype)
        return array[:size]


@dataclass(frozen=True)
class _Pairs:
    """Strings decoded to runs taken two by two: pair ``j`` is the background run ``background[j]`` followed
    by the foreground run ``foreground[j]``. String ``k`` holds pairs ``first[k]`` to ``first[k + 1] - 1``
    and ``runs[k]`` runs; one with an odd number of runs ends in a pair whose foreground run is a 0 added
    here. int64; the runs of flagged strings are meaningless (but in their place). The arrays may be work
    buffers, overwritten by the next chunk."""

    background: np.ndarray
    foreground: np.ndarray
    first: np.ndarray
    runs: np.ndarray
    flagged: dict[int, str]


def _run_batch(pairs: _Pairs) -> RunBatch:
    """The runs of decoded pairs, without the added zeros (new arrays)."""
    runs = np.empty(2 * pairs.background.size, dtype=np.int64)
    runs[0::2], runs[1::2] = pairs.background, pairs.foreground
    odd = np.flatnonzero(pairs.runs & 1)
    if odd.size:
        runs = np.delete(runs, 2 * pairs.first[odd + 1] - 1)
    first = np.zeros(pairs.runs.size + 1, dtype=np.int64)
    np.cumsum(pairs.runs, out=first[1:])
    return RunBatch(runs, np.repeat(np.arange(pairs.runs.size), pairs.runs), first, pairs.flagged)


def _segment_cumsum(values: np.ndarray, first: np.ndarray, sizes: np.ndarray) -> None:
    """Cumulative sums of ``values`` (int64) restarting at each segment ``first[k]`` (``sizes[k]`` long),
    in place: each segment's first value less the previous segment's total, then one running sum."""
    starts = first[:-1][sizes > 0]
    if starts.size > 1:
        totals = np.add.reduceat(values, starts)
        values[starts[1:]] -= totals[:-1]
    np.cumsum(values, out=values)


def _decode_chunk(counts: Sequence[str], lengths: np.ndarray, buffers: _Buffers) -> _Pairs:
    """Decode one chunk of strings (vectorised; no pixels) and flag those that cannot be decoded."""
    count = len(counts)
    flagged: dict[int, str] = {}
    text = np.frombuffer("".join(counts).encode("ascii", errors="replace"), dtype=np.uint8)
    size = text.size
    if size == 0:
        nothing = np.zeros(0, np.int64)
        return _Pairs(nothing, nothing, np.zeros(count + 1, np.int64), np.zeros(count, np.int64), flagged)
    string_start = np.zeros(count, dtype=np.int64)
    np.cumsum(lengths[:-1], out=string_start[1:])

    def flag(char_positions: np.ndarray, message: str) -> None:
        for owner in np.unique(np.searchsorted(string_start, char_positions, side="right") - 1):
            flagged.setdefault(int(owner), message)

    codes = np.subtract(text, np.uint8(48), out=buffers.get("codes", size, np.uint8))  # below '0' wraps around
    if codes.max() > 63:
        outside = codes > 63
        flag(np.flatnonzero(outside), "RLE 'counts' holds characters outside COCO's alphabet ('0'..'o')")
        codes[outside] = 0
    last = np.less(codes, 32, out=buffers.get("last", size, bool))  # no "more" bit: the run's last character
    string_end = (string_start + lengths - 1)[lengths > 0]
    unterminated = string_end[~last[string_end]]
    if unterminated.size:
        flag(unterminated, "RLE 'counts' ends in the middle of a run")
        last[unterminated] = True  # keep runs aligned with strings; the string is reported anyway
    run_last = np.flatnonzero(last)
    runs = run_last.size
    # A run's value: 5 bits a character, least significant first; bit 0x10 of the last one is the sign.
    # So: the last character read as a signed 5-bit number, times 32 plus the one before, and so on.
    code = np.take(codes, run_last, out=buffers.get("code", runs, np.uint8))
    code &= 0x1F
    code ^= 0x10
    values = buffers.get("values", runs, np.int64)
    np.copyto(values, code)
    values -= 0x10
    run_last -= 1  # a run's first character follows a run's last (the buffer's last, for the first run)
    longer = np.take(last, run_last, out=buffers.get("longer", runs, bool))
    np.logical_not(longer, out=longer)
    np.take(codes, run_last, out=code)
    code &= 0x1F
    step = np.multiply(values, 31, out=buffers.get("step", runs, np.int64))  # value * 32 + code, where longer
    step += code
    step *= longer
    values += step
    run_last += 1
    deeper = np.flatnonzero(longer)
    for k in range(2, _MAX_RUN_CHARS + 1):
        deeper = deeper[~last[run_last[deeper] - k]]
        if not deeper.size:
            break
        if k == _MAX_RUN_CHARS:
            flag(run_last[deeper], f"RLE 'counts' holds a run longer than {5 * _MAX_RUN_CHARS} bits")
            break
        values[deeper] = values[deeper] * 32 + (codes[run_last[deeper] - k] & 0x1F)
    first_run = np.searchsorted(run_last, string_start)  # string k's first run
    run_counts = np.diff(first_run, append=runs)
    pair_counts = (run_counts + 1) >> 1
    first = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(pair_counts, out=first[1:])
    pairs = int(first[-1])
    odd = np.flatnonzero(run_counts & 1)
    if odd.size:  # a 0 after each odd number of runs: every string then starts a pair
        padded = buffers.get("padded", 2 * pairs, np.int64)
        real = buffers.get("real", 2 * pairs, bool)
        real[:] = True
        added = 2 * first[odd + 1] - 1
        real[added] = False
        padded[added] = 0
        padded[real] = values
        values = padded
    # From the fourth run on, a value is a difference to the run two places before (run i = value i +
    # run i - 2): foreground runs are running sums of the foreground values, background runs of the
    # background values after a string's first run, which is not delta-coded.
    background = buffers.get("background", pairs, np.int64)
    foreground = buffers.get("foreground", pairs, np.int64)
    np.copyto(background, values[0::2])
    np.copyto(foreground, values[1::2])
    heads = first[:-1][pair_counts > 0]
    leading = background[heads]
    background[heads] = 0
    _segment_cumsum(background, first, pair_counts)
    background[heads] = leading
    _segment_cumsum(foreground, first, pair_counts)
    if odd.size:
        foreground[first[odd + 1] - 1] = 0  # the added zero (the sums copied the run before it)
    return _Pairs(background, foreground, first, run_counts, flagged)


#: Runs longer than this are refused before their ends are summed (no valid mask has them; the sums of
#: shorter runs cannot overflow 64 bits).
_LONGEST_RUN = 2**31


def _check_pairs(pairs: _Pairs, expected: np.ndarray | None, buffers: _Buffers) -> tuple[dict[int, str], np.ndarray]:
    """The problems of decoded strings (string -> message: the decoder's, then a negative run, then the
    pixels covered, when ``expected`` gives each string's ``h * w``) and each pair's foreground end in its
    mask (int64, a work buffer; meaningless for strings with a problem)."""
    problems = dict(pairs.flagged)
    background, foreground, first = pairs.background, pairs.foreground, pairs.first
    pair_counts = np.diff(first)
    if background.size and (min(background.min(), foreground.min()) < 0
                            or max(background.max(), foreground.max()) > _LONGEST_RUN):
        owner = np.repeat(np.arange(pair_counts.size), pair_counts)
        for k in np.unique(owner[(background < 0) | (foreground < 0)]).tolist():
            problems.setdefault(k, "RLE 'counts' decodes to a negative run length")
        for k in np.unique(owner[(background > _LONGEST_RUN) | (foreground > _LONGEST_RUN)]).tolist():
            if k not in problems:
                lo, hi = first[k], first[k + 1]
                total = sum(map(int, background[lo:hi])) + sum(map(int, foreground[lo:hi]))
                problems[k] = (f"RLE runs cover {total} pixels, expected height*width = "
                               f"{expected[k] if expected is not None else '?'}")
        bad = np.zeros(pair_counts.size, dtype=bool)
        bad[list(problems)] = True
        zeroed = np.repeat(bad, pair_counts)
        background, foreground = np.where(zeroed, 0, background), np.where(zeroed, 0, foreground)
    ends = np.add(background, foreground, out=buffers.get("ends", background.size, np.int64))
    _segment_cumsum(ends, first, pair_counts)
    if expected is not None:
        last = first[1:] - 1
        totals = np.where(pair_counts > 0, ends[np.maximum(last, 0)] if ends.size else 0, 0)
        for k in np.flatnonzero(totals != expected).tolist():
            problems.setdefault(k, f"RLE runs cover {totals[k]} pixels, expected height*width = {expected[k]}")
    return problems, ends


def _decode_foreground(counts: Sequence[str], pixels: np.ndarray | None, *, keep: bool = True
                       ) -> tuple[Foreground, dict[int, str], np.ndarray, np.ndarray]:
    """Decode and check many strings in chunks, reusing one set of work buffers: their foreground intervals
    (unless ``keep`` is false), their problems (string -> message; the pixels covered are checked when
    ``pixels`` gives each string's ``h * w``), run counts and pixels covered (meaningless for strings with
    a problem)."""
    count = len(counts)
    lengths = np.fromiter((len(c) for c in counts), dtype=np.int64, count=count)
    bound = int(((lengths + 1) >> 1).sum()) if keep else 0  # a run takes a character at least
    starts, ends = np.empty(bound, dtype=np.int32), np.empty(bound, dtype=np.int32)
    pair_counts, run_counts = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    totals, areas = np.zeros(count, dtype=np.int64), np.zeros(count, dtype=np.int64)
    problems: dict[int, str] = {}
    buffers = _Buffers()
    at = 0
    for start, stop in _chunks(lengths):
        pairs = _decode_chunk(counts[start:stop], lengths[start:stop], buffers)
        found, chunk_ends = _check_pairs(pairs, pixels[start:stop] if pixels is not None else None, buffers)
        problems.update((start + k, message) for k, message in found.items())
        run_counts[start:stop] = pairs.runs
        chunk_pairs = np.diff(pairs.first)
        if chunk_ends.size:
            totals[start:stop] = np.where(chunk_pairs > 0, chunk_ends[np.maximum(pairs.first[1:] - 1, 0)], 0)
            heads = pairs.first[:-1][chunk_pairs > 0]
            areas[start:stop][chunk_pairs > 0] = np.add.reduceat(pairs.foreground, heads)
        if keep:
            size = chunk_ends.size
            np.subtract(chunk_ends, pairs.foreground, out=starts[at:at + size], casting="unsafe")
            np.copyto(ends[at:at + size], chunk_ends, casting="unsafe")
            pair_counts[start:stop] = chunk_pairs
            at += size
    first = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(pair_counts, out=first[1:])
    return Foreground.of(starts[:at], ends[:at], first, areas), problems, run_counts, totals


def check_counts_many(counts: Sequence[str], pixels: Sequence[int] | np.ndarray, *,
                      cache: RunsCache | None = None) -> list[str | None]:
    """Validate many compressed ``counts`` strings at once: a problem message per string, or ``None``.

    The vectorised form of :func:`run_lengths` over a whole predictions file (tens of thousands of
    masks): every run must be non-negative and the runs must cover exactly ``pixels[k]`` pixels. Strings
    are decoded in chunks of about :data:`_CHUNK_CHARS` characters (small temporaries, reused); with
    ``cache`` they are kept there (as :class:`Foreground`) for scoring.
    """
    expected = np.asarray(pixels, dtype=np.int64).reshape(len(counts))
    decoded, found, runs, _ = _decode_foreground(counts, expected, keep=cache is not None)
    problems: list[str | None] = [None] * len(counts)
    for k, message in found.items():
        problems[k] = message
    if cache is not None:
        valid = np.ones(len(counts), dtype=bool)
        valid[list(found)] = False
        cache.add(counts, valid, decoded, runs, expected)
    return problems


class CountsError(MaskError):
    """A compressed ``counts`` string among many that does not decode to a mask: ``index`` is its position,
    ``reason`` what is wrong."""

    def __init__(self, index: int, reason: str) -> None:
        self.index, self.reason = index, reason
        super().__init__(f"[{index}]: {reason}")


def foreground_many(counts: Sequence[str], pixels: Sequence[int] | np.ndarray, *,
                    cache: RunsCache | None = None) -> Foreground:
    """The foreground intervals of many compressed ``counts`` strings (:class:`Foreground`), each checked to
    cover ``pixels[k]`` (its ``h * w``); from ``cache`` when it holds them all, else decoded in chunks.

    Raises :class:`CountsError` for the first string with a problem (:func:`check_counts_many`'s words).
    """
    expected = np.asarray(pixels, dtype=np.int64).reshape(len(counts))
    if cache is not None:
        cached = cache.foreground(counts, expected)
        if cached is not None:
            return cached
    decoded, problems, _, _ = _decode_foreground(counts, expected)
    if problems:
        k = min(problems)
        raise CountsError(k, problems[k])
    return decoded


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


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
