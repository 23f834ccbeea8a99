"""Where PixCV-Bench's raw inputs are published, for ``pixbench fetch cvbench`` and ``pixbench fetch annotations``.

- **CV-Bench** (Tong et al., Cambrian-1, 2024; Apache 2.0): the hub dataset repo ``nyu-visionx/CV-Bench`` held
  ``test.parquet`` (all 2,638 questions, images embedded) until it was split into ``test_2d.parquet`` and
  ``test_3d.parquet``; the PixCV-Bench annotations were made on ``test.parquet``, so the fetch is pinned to the
  last commit holding it. Fetched into ``DIR/CV-Bench`` (``--cvbench DIR/CV-Bench/test.parquet``).
- **PixCV-Bench annotations** (PixFoundation, arXiv 2502.04192): the hub dataset repo ``IVUlab/pixcvbench``
  (``Objects.csv``, ``ADE20K/FinalSegmentations.json``, ``COCO/FinalSegmentations.json``), into
  ``DIR/PixCV-Bench-annotations`` (``--annotations``).
"""

from __future__ import annotations

from pixbench.benchmarks.raw_inputs import HubFiles, InputFolder, RawInput

#: The last commit of nyu-visionx/CV-Bench holding ``test.parquet`` (the file the annotations index).
CVBENCH_REVISION = "22409a927ab5cf68e3655023d51694587455fc99"
ANNOTATION_FILES = ("Objects.csv", "ADE20K/FinalSegmentations.json", "COCO/FinalSegmentations.json")

CVBENCH = InputFolder(
    folder="CV-Bench", title="CV-Bench (Cambrian-1, 2024): test.parquet, images embedded", license="Apache 2.0",
    hub=HubFiles("nyu-visionx/CV-Bench", include=("test.parquet", "README.md"), revision=CVBENCH_REVISION,
                 required=("test.parquet",)))

ANNOTATIONS = InputFolder(
    folder="PixCV-Bench-annotations", title="PixCV-Bench annotations (PixFoundation, arXiv 2502.04192)",
    license="the terms of the IVUlab/pixcvbench dataset card",
    hub=HubFiles("IVUlab/pixcvbench", include=(*ANNOTATION_FILES, "README.md"), required=ANNOTATION_FILES))

BUILD = ("pixbench", "build", "pixcvbench", "--cvbench", "{to}/CV-Bench/test.parquet", "--annotations",
         "{to}/PixCV-Bench-annotations", "--out", "{to}/PixCV-Bench")

RAW_INPUTS = (
    RawInput("cvbench", "CV-Bench's test.parquet and PixCV-Bench's annotations (all `build pixcvbench` needs)",
             folders=(CVBENCH, ANNOTATIONS), next_steps=(BUILD,)),
    RawInput("annotations", "PixCV-Bench's annotation folder",
             folders=(ANNOTATIONS,),
             next_steps=(("pixbench", "check-annotations", "pixcvbench", "{to}/PixCV-Bench-annotations"),)),
)
