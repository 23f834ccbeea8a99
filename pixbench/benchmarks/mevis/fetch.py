"""Where MeViS is published, for ``pixbench fetch mevis``: steps by hand, nothing downloaded.

MeViS (Ding et al., ICCV 2023; v2, TPAMI 2025) is CC BY-NC-SA 4.0 and pixbench ships and downloads none of it. Its
authors publish it (https://github.com/henghuiding/MeViS, "Dataset Download"), v2 also as the hub dataset repo
``FudanCVL/MeViSv2``; how that repo lays out ``valid_u`` (frames as a ``JPEGImages.tar`` archive, as its
``train/`` holds them; whether v1's ``meta_expressions.json`` is there) could not be checked when this was
written, so ``fetch mevis`` prints the steps and the layout ``build mevis`` reads instead of guessing.
"""

from __future__ import annotations

from pixbench.benchmarks.raw_inputs import RawInput

#: Where the steps put the release (``--mevis``).
RELEASE = "{to}/MeViS-release"

BY_HAND = (
    "# MeViS is CC BY-NC-SA 4.0 (non-commercial research use, with attribution; derivatives under the same license): "
    "pixbench downloads none of it. Get the valid_u split of the release from its authors "
    "(https://github.com/henghuiding/MeViS, section Dataset Download); MeViS v2 is also on the hub:",
    f"hf download FudanCVL/MeViSv2 --repo-type dataset --include 'valid_u/*' --local-dir {RELEASE}",
    "# if the frames come as an archive, unpack it in place:",
    f"tar -xf {RELEASE}/valid_u/JPEGImages.tar -C {RELEASE}/valid_u",
    f"# check the layout the builder reads: {RELEASE}/valid_u/JPEGImages/<video_id>/<NNNNN>.jpg (the frames), "
    f"{RELEASE}/valid_u/mask_dict.json, and {RELEASE}/valid_u/meta_expressions.json (MeViS v1: 793 expressions "
    "in 50 videos) and/or meta_expressions_v2.json (MeViS v2)",
)

RAW_INPUTS = (
    RawInput("mevis", "MeViS valid_u (CC BY-NC-SA 4.0): the steps to get it by hand, then `build mevis`",
             by_hand=BY_HAND,
             next_steps=(("pixbench", "check-annotations", "mevis", "--mevis", RELEASE),
                         ("pixbench", "build", "mevis", "--mevis", RELEASE, "--out", "{to}/MeViS"))),
)
