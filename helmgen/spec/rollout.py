"""Cross-field checks of `rollout` (canary and blue-green, native and Argo engines), and each
track's merged version (image, env, config) for the model."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker
from helmgen.spec.fields import VERSION_FIELDS

NATIVE_ONLY = ("weight",)  # traffic by replica ratio or HTTPRoute weight
ARGO_ONLY = ("steps",)  # and `analysis` beside canary/blueGreen


def in_flight(track: dict[str, Any] | None) -> bool:
    """Whether a canary block carries a version (image, tag, env or config): else it only holds settings."""
    return track is not None and any(k in track for k in VERSION_FIELDS)


def merged_track(track: dict[str, Any], name: str, image: dict[str, Any], env: dict[str, Any],
                 config: dict[str, Any] | None) -> dict[str, Any]:
    """A track's or slot's version: its image, env and config files merged over the agent's."""
    img = dict(image)
    if "image" in track:
        img.update(track["image"])
        img.setdefault("digest", "")
        if "digest" not in track["image"]:
            img["digest"] = ""
    if "tag" in track:
        img.update(tag=track["tag"], digest="")
    cfg = config
    if "config" in track:
        base = config or {"mountPath": f"/etc/{name}", "reload": "restart", "files": {}}
        cfg = {**base, "files": {**base["files"], **track["config"]["files"]}}
    return {"image": img, "env": {**env, **track.get("env", {})}, "config": cfg}


def _app_tagged(track: dict[str, Any], app_tag: str) -> dict[str, Any]:
    """The track with the tag its pods run: an image with no tag and no digest (`image: repo`) takes the
    appVersion, as the agent's own image does (so `repo` beside `repo:<appVersion>` is the same version)."""
    img = track["image"]
    if not img.get("tag") and not img.get("digest"):
        track["image"] = {**img, "tag": app_tag}
    return track


def _version(t: dict[str, Any]) -> tuple[Any, ...]:
    img = t["image"]
    return (img.get("repository"), img.get("tag"), img.get("digest")), t["env"], (t["config"] or {}).get("files")


def check_rollout(chk: Checker, a: dict[str, Any], kind: str, image: dict[str, Any], env: dict[str, Any],
                  config: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The normalised rollout and its tracks ({canary} or {blue, green}; {} when only the stable runs)."""
    from helmgen.spec.aspects import int_or_percent as _int_or_percent

    raw = a.get("rollout", {})
    rollout: dict[str, Any] = _int_or_percent({"strategy": "rolling", "engine": "native", "maxSurge": "25%",
                                               "maxUnavailable": 0, **raw})
    if kind not in ("Deployment", "StatefulSet"):
        return rollout, {}  # `rollout` itself is refused there (check.py)
    _strategy_problems(chk, raw, rollout, kind)
    _engine_problems(chk, raw, rollout)
    canary = raw.get("canary", {})
    tracks = {**_canary_track(chk, raw, rollout, image, env, config),
              **_blue_green_tracks(chk, raw, rollout, image, env, config)}
    if "analysis" in raw:
        rollout["analysis"] = dict(raw["analysis"])
    versions = {"rollout.canary": canary, **{f"rollout.blueGreen.{k}": v for k, v in (raw.get("blueGreen") or {}).items()
                                             if isinstance(v, dict)}}
    for where, track in versions.items():
        _secret_keys(chk, where, track.get("env", {}))
    return rollout, tracks


def _strategy_problems(chk: Checker, raw: dict[str, Any], rollout: dict[str, Any], kind: str) -> None:
    """Settings the strategy (or the workload kind) does not take."""
    strategy, engine = rollout["strategy"], rollout["engine"]
    if rollout["maxSurge"] in (0, "0%") and rollout["maxUnavailable"] in (0, "0%"):
        chk.err("rollout", "maxSurge and maxUnavailable cannot both be 0")
    if strategy != "rolling" and kind == "StatefulSet":
        chk.err("rollout.strategy", f"{strategy} is not possible for a StatefulSet: it takes rolling only",
                "canary and blueGreen run a second workload beside the stable one, and a StatefulSet's pods own "
                "their volumes; use a Deployment (no state) or strategy: rolling")
    for other, needs in (("canary", "canary"), ("blueGreen", "blueGreen")):
        if other in raw and strategy != needs:
            chk.err(f"rollout.{other}", f"applies to strategy {needs}, not to {strategy}", f"set strategy: {needs}")
    if strategy == "rolling" and engine == "argo":
        chk.err("rollout.engine", "argo takes strategy canary or blueGreen", "drop engine or choose a strategy")


def _engine_problems(chk: Checker, raw: dict[str, Any], rollout: dict[str, Any]) -> None:
    """Settings the engine does not take."""
    strategy, engine = rollout["strategy"], rollout["engine"]
    if engine == "native" and "analysis" in raw:
        chk.err("rollout.analysis", "needs engine: argo", "the native engine runs no automatic checks")
    elif strategy == "rolling" and "analysis" in raw:
        chk.err("rollout.analysis", "applies to canary or blueGreen rollouts")
    canary = raw.get("canary", {})
    for f in NATIVE_ONLY if engine == "argo" else ARGO_ONLY:
        if f in canary:
            other = "native" if engine == "argo" else "argo"
            chk.err(f"rollout.canary.{f}", f"applies to engine {other}, not to {engine}",
                    "argo moves traffic with steps" if engine == "argo" else "steps need engine: argo")


def _canary_track(chk: Checker, raw: dict[str, Any], rollout: dict[str, Any], image: dict[str, Any],
                  env: dict[str, Any], config: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{canary: its version} while a canary runs, else {} (the canary block goes into `rollout`)."""
    canary = raw.get("canary", {})
    if rollout["strategy"] != "canary" or "canary" not in raw:
        return {}
    rollout["canary"] = dict(canary)
    if not in_flight(canary):
        return {}
    if rollout["engine"] == "native" and "weight" not in canary:
        chk.err("rollout.canary.weight", "is required while a canary runs",
                "the percent of traffic the canary gets, 0..100")
    track = _app_tagged(merged_track(canary, chk.name, image, env, config), chk.book.app_version.replace("+", "_"))
    stable = {"image": image, "env": env, "config": config}
    if _version(track) == _version(stable):
        chk.err("rollout.canary", "is identical to the stable version (same image, env and config)",
                "change its image, tag, env or config, or remove them to run no canary")
    return {"canary": track}


def _blue_green_tracks(chk: Checker, raw: dict[str, Any], rollout: dict[str, Any], image: dict[str, Any],
                       env: dict[str, Any], config: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{blue, green: their versions} for a blue-green rollout (the slots go into `rollout`), else {}."""
    if rollout["strategy"] != "blueGreen":
        return {}
    bg = raw.get("blueGreen")
    if not bg or "active" not in bg:
        chk.err("rollout.blueGreen.active", "is required", "blue or green: the slot that serves live traffic")
        return {}
    rollout["blueGreen"] = {"active": bg["active"], "blue": dict(bg.get("blue", {})),
                            "green": dict(bg.get("green", {}))}
    app_tag = chk.book.app_version.replace("+", "_")
    tracks = {slot: _app_tagged(merged_track(rollout["blueGreen"][slot], chk.name, image, env, config), app_tag)
              for slot in ("blue", "green")}
    if _version(tracks["blue"]) == _version(tracks["green"]):
        chk.err("rollout.blueGreen", "blue and green are identical (same image, env and config)",
                "give the new version to the inactive slot")
    return tracks


def _secret_keys(chk: Checker, where: str, env: dict[str, Any]) -> None:
    """A track's env names keys of declared secrets, as the agent's env does."""
    for var, e in env.items():
        if "secret" in e and "key" in e and e["secret"] in chk.spec["secrets"]:
            keys = chk.spec["secrets"][e["secret"]]["keys"]
            if e["key"] not in keys:
                chk.err(f"{where}.env.{var}.key", f"secret {e['secret']!r} has no key {e['key']!r}",
                        "declared keys: " + ", ".join(keys))
