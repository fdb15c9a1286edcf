"""Every image a release pulls (pure): agents (every rollout track), their init containers and sidecars, and the
`helm test` image. For `helmgen images` (mirroring) and Chart.yaml's artifacthub.io/images."""

from __future__ import annotations

from helmgen.spec.model import Agent


def image_ref(img: dict[str, str]) -> str:
    ref = img["repository"]
    if img.get("tag"):
        ref += ":" + img["tag"]
    if img.get("digest"):
        ref += "@" + img["digest"]
    return ref


def images(agents: dict[str, Agent]) -> list[str]:
    from helmgen.chart.values import TEST_IMAGE

    found = {f"{TEST_IMAGE['repository']}:{TEST_IMAGE['tag']}"}
    for a in agents.values():
        if not a.enabled:
            continue
        # blue-green runs only its slots' images; a canary runs its own beside the agent's
        versions = [t for name, t in a.tracks.items() if name in ("blue", "green")] or [{"image": a.image},
                                                                                         *a.tracks.values()]
        found.update(image_ref(t["image"]) for t in versions)
        for c in [*a.pod.get("initContainers", []), *a.pod.get("sidecars", [])]:
            if isinstance(c, dict) and isinstance(c.get("image"), str):
                found.add(c["image"])
    return sorted(found)
