"""Receipts: everything needed to re-derive a score result offline, and checking one (``pixbench verify``).

A receipt (``pixbench score ... --receipt R.json``) is a small, readable JSON file that names what a result was
computed from and how: the pixbench version, each benchmark's data fingerprint (the content hash of the files
scoring read, each file's sha256, the configs, the hub commit when it came from the hub), each predictions
file's sha256 (and the PNG masks its lines name), every setting that decides a number, the judge (model, base URL
without secrets, temperature, prompts' version and template digest) with every verdict the result used, the
report, and a digest of the per-sample outcomes. Its layout is specified in :mod:`pixbench.receipts.format`.

Verifying (:func:`verify`) scores the same files again with the receipt's settings and its verdicts as the
judge, so no judge is asked, and lists what differs (:mod:`pixbench.receipts.compare`): nothing, or the data,
the predictions, the settings, the version, and which numbers moved.

- :mod:`~pixbench.receipts.format`: the receipt as types, its JSON, digests, packed verdicts, the seal (pure);
- :mod:`~pixbench.receipts.compare`: two receipts' differences (pure);
- :mod:`~pixbench.receipts.judges`: the judge that records verdicts and the one that replays them;
- :mod:`~pixbench.receipts.files`: fingerprints of files, reading and writing receipts;
- :mod:`~pixbench.receipts.record`: making a receipt of a score run, and verifying one.
"""

from __future__ import annotations

from pixbench.receipts.compare import KINDS, Difference, compare_receipts
from pixbench.receipts.files import data_fingerprint, predictions_fingerprint, read_receipt, write_receipt
from pixbench.receipts.format import (
    FORMAT,
    FORMAT_VERSION,
    DataFingerprint,
    JudgeRecord,
    PredictionsFingerprint,
    Receipt,
    ReceiptError,
    ReceiptSettings,
    Verdict,
    canonical_json,
    judge_prompt_digest,
    pack_verdicts,
    per_sample_digest,
    public_base_url,
    unpack_verdicts,
)
from pixbench.receipts.judges import ReceiptJudge, VerdictRecorder
from pixbench.receipts.record import Verification, make_receipt, recording, verify

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "KINDS",
    "DataFingerprint",
    "Difference",
    "JudgeRecord",
    "PredictionsFingerprint",
    "Receipt",
    "ReceiptError",
    "ReceiptJudge",
    "ReceiptSettings",
    "Verdict",
    "VerdictRecorder",
    "Verification",
    "canonical_json",
    "compare_receipts",
    "data_fingerprint",
    "judge_prompt_digest",
    "make_receipt",
    "pack_verdicts",
    "per_sample_digest",
    "predictions_fingerprint",
    "public_base_url",
    "read_receipt",
    "recording",
    "unpack_verdicts",
    "verify",
    "write_receipt",
]
