"""Where PixMMVP's raw inputs are published, for ``pixbench fetch mmvp`` and ``pixbench fetch annotations``.

- **MMVP** (Tong et al., CVPR 2024): the hub dataset repo ``MMVP/MMVP`` holds the release folder as the builder
  reads it, ``MMVP Images/<id>.jpg`` (300 images) and ``Questions.csv``; fetched into ``DIR/MMVP`` (``--mmvp``).
- **PixMMVP annotations** (PixFoundation, arXiv 2502.04192): the hub dataset repo ``IVUlab/pixmmvp`` holds
  ``Segmentations.json``, ``Objects.csv`` and ``visual_patterns.csv``; ``meta_none.txt`` (the 14 questions
  without an object) is only in the PixFoundation GitHub repository (``data/pixmmvp/``), pinned here by commit,
  size and sha256. Both go into ``DIR/PixMMVP-annotations`` (``--annotations``).

``fetch mmvp`` gets both folders (all a build needs); ``fetch annotations`` the annotation folder alone (enough for
``check-annotations`` and an annotations-only build, ``--no-images``).
"""

from __future__ import annotations

from pixbench.benchmarks.pixmmvp.rules import PixMMVP
from pixbench.benchmarks.raw_inputs import GitHubFile, HubFiles, InputFolder, RawInput

#: The images folder of the MMVP release (``build.IMAGES_FOLDER``; not imported: the builder imports ``datasets``).
IMAGES_FOLDER = "MMVP Images"
ANNOTATION_FILES = ("Segmentations.json", "Objects.csv", "visual_patterns.csv")

MMVP = InputFolder(
    folder="MMVP", title="MMVP (Tong et al., CVPR 2024): 300 images and Questions.csv",
    license="the terms of the MMVP/MMVP dataset card",
    hub=HubFiles("MMVP/MMVP", include=(f"{IMAGES_FOLDER}/*.jpg", "Questions.csv", "README.md"),
                 required=("Questions.csv", *(f"{IMAGES_FOLDER}/{qid}.jpg" for qid in PixMMVP.ids))))

ANNOTATIONS = InputFolder(
    folder="PixMMVP-annotations", title="PixMMVP annotations (PixFoundation, arXiv 2502.04192)",
    license="the terms of the IVUlab/pixmmvp dataset card and of the PixFoundation repository",
    hub=HubFiles("IVUlab/pixmmvp", include=(*ANNOTATION_FILES, "README.md"), required=ANNOTATION_FILES),
    github=(GitHubFile("MSiam/PixFoundation", "9996826297e4574ebcc2043435610b3e800983b3", "data/pixmmvp/meta_none.txt",
                       size=110, sha256="ad4fe9c5d95c0d8ec5d47eb44ffe22e161eb3c28b8da7701c66bf87ce2e81a57",
                       save_as="meta_none.txt"),))

BUILD = ("pixbench", "build", "pixmmvp", "--mmvp", "{to}/MMVP", "--annotations", "{to}/PixMMVP-annotations",
         "--out", "{to}/PixMMVP")

RAW_INPUTS = (
    RawInput("mmvp", "MMVP's images and questions and PixMMVP's annotations (all `build pixmmvp` needs)",
             folders=(MMVP, ANNOTATIONS), next_steps=(BUILD,)),
    RawInput("annotations", "PixMMVP's annotation folder",
             folders=(ANNOTATIONS,),
             next_steps=(("pixbench", "check-annotations", "pixmmvp", "{to}/PixMMVP-annotations"),
                         ("pixbench", "build", "pixmmvp", "--no-images", "--annotations", "{to}/PixMMVP-annotations",
                          "--out", "{to}/PixMMVP"))),
)
