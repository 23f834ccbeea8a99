"""Other tools' outputs as pixbench predictions: the library behind ``pixbench convert``.

- :mod:`~pixbench.ingest.pixfoundation`: the PixFoundation reference scripts' files (mask PNG folders,
  candidate folders, answers jsonl, spaCy meta file, selection jsonl) -> :func:`convert_reference`.
- :mod:`~pixbench.ingest.lmms_eval`, :mod:`~pixbench.ingest.vlmevalkit`: other harnesses' files read as rows
  (:func:`read_lmms_eval`, :func:`read_vlmevalkit`), which :mod:`~pixbench.ingest.mapping` maps to ``letter``
  predictions by the benchmark's ids (:func:`map_rows`); :mod:`~pixbench.ingest.bridges` dispatches by source
  name (:func:`convert_bridge`).
- :mod:`~pixbench.ingest.mevis`: MeViS-style PNG folders ``PRED_ROOT/<video_id>/<exp_id>/<frame>.png`` (the
  published MoCentric-Bench output layout) -> MoCentric lines of one probe and layout
  (:func:`convert_mevis_pngs`).
- :mod:`~pixbench.ingest.lmms_eval_rvos`: lmms-eval's RVOS submission (point tracks) and stage-2 files -> MeViS
  lines, the points propagated by SAM 2 (:func:`~pixbench.ingest.lmms_eval_rvos.plan_rvos`,
  :func:`~pixbench.ingest.lmms_eval_rvos.convert_rvos`).
- :mod:`~pixbench.ingest.common`: what they share (the benchmark's id domain from the registry, a built
  dataset's ids, the keys already in a predictions file).

Library code only: the command line is :mod:`pixbench.cli.convert`.
"""

from __future__ import annotations

from pixbench.ingest.bridges import SOURCES, convert_bridge, read_source
from pixbench.ingest.common import clashes, dataset_ids, existing_keys
from pixbench.ingest.lmms_eval import read_lmms_eval
from pixbench.ingest.mapping import (
    BridgeError,
    BridgeResult,
    RowIssue,
    SourceRow,
    SourceTable,
    map_rows,
    resolve_benchmark,
)
from pixbench.ingest.mevis import MEVIS_SOURCE, MevisConversion, convert_mevis_pngs
from pixbench.ingest.pixfoundation import (
    REFERENCE_ID_BASE,
    SELECTION_ID_BASE,
    ConvertError,
    ConvertProblem,
    convert_reference,
    read_answers,
)
from pixbench.ingest.vlmevalkit import VLMEVALKIT_ID_BASE, read_vlmevalkit

__all__ = ["MEVIS_SOURCE", "REFERENCE_ID_BASE", "SELECTION_ID_BASE", "SOURCES", "VLMEVALKIT_ID_BASE", "BridgeError",
           "BridgeResult", "ConvertError", "ConvertProblem", "MevisConversion", "RowIssue", "SourceRow", "SourceTable",
           "clashes", "convert_bridge", "convert_mevis_pngs", "convert_reference", "dataset_ids", "existing_keys",
           "map_rows", "read_answers", "read_lmms_eval", "read_source", "read_vlmevalkit",
           "resolve_benchmark"]
