"""The image: a repository is required; without a tag or digest it takes the chart's appVersion."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker
from helmgen.spec.fields import IMAGE_TAG


def check_image(chk: Checker, a: dict[str, Any]) -> dict[str, str]:
    image = dict(a["image"])
    if not image.get("repository"):  # `image: {tag: "1"}`, here or merged from defaults
        chk.err("image.repository", "is required", "for example image: ghcr.io/acme/planner:1.0")
    image.setdefault("digest", "")
    if not image.get("tag") and not image["digest"]:
        # the chart's appVersion; '+' (SemVer build metadata) is not allowed in image tags
        app_version = chk.book.app_version
        image["tag"] = app_version.replace("+", "_")
        if not IMAGE_TAG.fullmatch(image["tag"]):
            chk.err("image", f"has no tag, and the appVersion {app_version!r} is not a valid "
                             "image tag", "give the image a tag, or set appVersion to one")
    image.setdefault("tag", "")
    image.setdefault("pullPolicy", "IfNotPresent")
    return image
