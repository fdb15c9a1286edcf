"""The shape of agent spec v1 (docs/spec.md), declared once.

`post` hooks expand shorthands (`port`, `image: repo:tag`, `health: /x`, `resources:
{cpu, memory}`) so that `defaults` and agents merge in one canonical form.
"""

from __future__ import annotations

import difflib
import functools
import re
from decimal import Decimal
from typing import Any, NamedTuple

from helmgen import SPEC_API_VERSIONS
from helmgen.spec.load import Mapping, Node, Sequence
from helmgen.spec.runtime import HOOK_EVENTS
from helmgen.spec.types import INVALID, Bool, Const, Ctx, Int, List, Map, Obj, Raw, Str, T, Union

DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
SEMVER = (r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
          r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")
QUANTITY = r"[+]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?\d+))?"
PORT_NAME = r"(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?"
ENV_NAME = r"[-._a-zA-Z][-._a-zA-Z0-9]*"
SECRET_KEY = r"[-._a-zA-Z0-9]+"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
LABEL_KEY = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
PERCENT_OR_INT = r"\d+%?"
TIMINGS = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold",
           "terminationGracePeriodSeconds")


_QUANTITY_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "n": Decimal("1e-9"),
                    "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                    "P": 10**15, "E": 10**18}
QUANTITY_MAX = 2**63 - 1  # Kubernetes caps a quantity there; a spec that goes beyond is a mistake


def quantity_value(text: str) -> Decimal | None:
    """A Kubernetes quantity as a number, or None when it is not one or is beyond QUANTITY_MAX."""
    m = re.fullmatch(r"\+?([0-9]*\.?[0-9]*)([a-zA-Z]*|[eE][-+]?\d+)", str(text))
    if not m or not m.group(1).strip("."):
        return None
    mantissa, suffix = m.group(1), m.group(2)
    if len(mantissa) > 60:
        return None
    num = Decimal(mantissa)
    if re.fullmatch(r"[eE][-+]?\d+", suffix):
        exponent = suffix[1:]
        if len(exponent.lstrip("+-0")) > 3:  # 1e999999999 would overflow any arithmetic
            return None if not exponent.startswith("-") or num == 0 else Decimal(0)
        value = num.scaleb(int(exponent))
    else:
        value = num * Decimal(str(_QUANTITY_SUFFIX.get(suffix, 1)))
    return value if value <= QUANTITY_MAX else None


def _quantity_check(text: str) -> str | None:
    if quantity_value(text) is None:
        return "is larger than Kubernetes can store (a quantity goes up to 2^63-1)"
    return None


def _memory_check(text: str) -> str | None:
    if text.endswith("m") and not text.endswith(("Em", "Pm")):
        return f"is millibytes (did you mean {text[:-1]}Mi?)"
    value = quantity_value(text)
    mantissa = re.split(r"[eE]", text)[0]
    if value is not None and (value % 1 != 0 or (value == 0 and re.search(r"[1-9]", mantissa))):
        return "is a fraction of a byte"
    return _quantity_check(text)


def _size_check(text: str) -> str | None:
    if quantity_value(text) == 0 and not re.search(r"[1-9]", re.split(r"[eE]", text)[0]):
        return "must be more than 0"
    return _memory_check(text)


def _percent_check(text: str) -> str | None:
    return "is more than 100%" if text.endswith("%") and int(text[:-1]) > 100 else None


def _key_check(text: str) -> str | None:
    """Kubernetes' rule for ConfigMap and Secret keys beyond their characters (IsConfigMapKey)."""
    if text in (".", ".."):
        return "is not allowed as a key (Kubernetes refuses '.' and '..')"
    if text.startswith(".."):
        return "starts with '..', which Kubernetes refuses in a key (it keeps '..data' for itself)"
    return None


def _url_check(text: str) -> str | None:
    """An absolute URL, as `helm lint` wants for icon and sources."""
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#]+[^\s]*", text):
        return "is not an absolute URL"
    return None


URL = Str(what="an absolute URL", check_fn=_url_check, hint="for example https://example.org/agents")

# Masterminds semver v3 (what Helm checks kubeVersion with): its constraint grammar, as regular expressions
_CV = (r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
       r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_OPS = "|".join(re.escape(op) for op in sorted(("", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"),
                                                 key=len, reverse=True))


@functools.cache
def _constraint_grammar() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Range, whole-constraint, one-comparison and version patterns (compiled when first needed)."""
    return (re.compile(rf"\s*({_CV})\s+-\s+({_CV})\s*", re.ASCII),
            re.compile(rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*$", re.ASCII),
            re.compile(rf"({_OPS})\s*({_CV})", re.ASCII),
            re.compile(r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
                       r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?", re.ASCII))


def constraint_problem(text: str) -> str | None:
    """Why Masterminds semver's NewConstraint would refuse `text`, or None."""
    range_, valid, find, version_rx = _constraint_grammar()
    text = range_.sub(lambda m: f">= {m.group(1)}, <= {m.group(11)}", text)
    for part in text.split("||"):
        if not valid.fullmatch(part):
            return f"is not a valid version constraint (at {part.strip()!r})" if "||" in text \
                else "is not a valid version constraint"
        for m in find.finditer(part):
            version = m.group(2)
            wild = any(c in version for c in "xX*")
            if not wild and not version_rx.fullmatch(version):
                return f"is not a valid version constraint ({version!r} is not a version)"
    return None


def dns_name(max_len: int, what: str) -> Str:
    return Str(DNS_LABEL, f"a valid {what}", max_len=max_len, min_len=1,
               hint="a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit")


AGENT_NAME = dns_name(40, "agent name")
CPU = Str(QUANTITY, "a CPU quantity", hint="for example 250m, 0.5 or 2", numeric=True, check_fn=_quantity_check)
MEMORY = Str(QUANTITY, "a memory quantity", hint="for example 128Mi or 2Gi", check_fn=_memory_check, numeric=True)
STRING = Str()
STRINGS = List(Str())
STR_MAP = Map(Str())
PORT_NUMBER = Int(1, 65535)
PORT_REF = Union(PORT_NUMBER, Str(PORT_NAME, "a port name", hint="a name from `ports`"), what="a port number or a port name")
INT_OR_PERCENT = Union(Int(0), Str(PERCENT_OR_INT, "an integer or a percentage", hint="for example 1 or 25%"),
                       what="an integer or a percentage")

_CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
_CRON_NAMES = [{}, {}, {},
               {m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])},
               {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}]
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def cron_problem(text: str) -> str | None:
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "sets a time zone inside the schedule, which Kubernetes rejects (use job.timeZone)"
    if text.startswith("@"):
        return None if text in _CRON_MACROS else "is not a known macro (@hourly, @daily, @weekly, @monthly, @yearly)"
    parts = text.split()
    if len(parts) != 5:
        return f"has {len(parts)} fields; a cron schedule has 5 (minute hour day-of-month month day-of-week)"
    fields = ("minute", "hour", "day-of-month", "month", "day-of-week")
    for part, (lo, hi), names, fname in zip(parts, _CRON_RANGES, _CRON_NAMES, fields, strict=True):
        for item in part.split(","):
            base, _, step = item.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                return f"has an invalid step in the {fname} field"
            if base in ("*", "?"):
                continue
            for bound in base.split("-", 1):
                value = names.get(bound.upper()) if not bound.isdigit() else int(bound)
                if value is None or not lo <= value <= hi:
                    return f"has {bound!r} in the {fname} field (allowed {lo}-{hi})"
    return None


SCHEDULE = Str(what="a cron schedule", check_fn=cron_problem, hint="for example '*/15 * * * *' or @hourly")

_IMAGE_REPO = re.compile(r"(?:[a-zA-Z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
IMAGE_TAG = re.compile(r"[\w][\w.-]{0,127}")
_IMAGE_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}")


def _image_parts(ref: str) -> tuple[str, str, str]:
    repo, _, digest = ref.partition("@")
    tag = ""
    slash = repo.rfind("/")
    colon = repo.rfind(":")
    if colon > slash:
        repo, tag = repo[:colon], repo[colon + 1:]
    return repo, tag, digest


def _image_from_string(value: str, node: Node, path: str, ctx: Ctx) -> Any:
    # a whole reference: it replaces tag and digest too when merged over defaults or in an environment
    repo, tag, digest = _image_parts(value)
    return _image_post({"repository": repo, "tag": tag, "digest": digest}, node, path, ctx)


def _image_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    ok = True
    if "repository" in v and not _IMAGE_REPO.fullmatch(v["repository"]):
        ctx.err(node, path + ".repository" if ":" not in path else path,
                f"{v['repository']!r} is not a valid image repository", "lowercase, for example ghcr.io/acme/planner")
        ok = False
    if v.get("tag") and not IMAGE_TAG.fullmatch(v["tag"]):
        ctx.err(node, path + ".tag", f"{v['tag']!r} is not a valid image tag")
        ok = False
    if v.get("digest") and not _IMAGE_DIGEST.fullmatch(v["digest"]):
        ctx.err(node, path + ".digest", f"{v['digest']!r} is not a valid image digest", "for example sha256:<64 hex digits>")
        ok = False
    return v if ok else INVALID


class ImageString(Str):
    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        text = super().check(node, path, ctx)
        if text is not INVALID and (text.partition("@")[0].endswith(":") or text.endswith("@")):
            ctx.err(node, path, f"{text!r} has an empty {'digest' if text.endswith('@') else 'tag'}",
                    "drop the ':' (the chart's appVersion is the tag then) or give a tag")
            return INVALID
        return INVALID if text is INVALID else _image_from_string(text, node, path, ctx)


IMAGE = Union(
    ImageString(what="an image reference", min_len=1),
    Obj({"repository": Str(min_len=1), "tag": Str(), "digest": Str(),
         "pullPolicy": Str(enum=("Always", "IfNotPresent", "Never"))}, post=_image_post),
    what="an image reference (repo[:tag][@digest]) or {repository, tag, digest, pullPolicy}",
)


def _port_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    return {"port": v["port"], "protocol": v.get("protocol", "TCP")}


PORT_ENTRY = Union(PORT_NUMBER, Obj({"port": PORT_NUMBER, "protocol": Str(enum=("TCP", "UDP", "SCTP"))},
                                    required=("port",), post=_port_post), what="a port number or {port, protocol}")
PORTS = Map(PORT_ENTRY, key=Str(PORT_NAME, "a valid port name (IANA_SVC_NAME: at most 15 lowercase letters, digits "
                                           "and '-', with at least one letter)", max_len=15, min_len=1))


def _exactly_one(v: dict[str, Any], keys: tuple[str, ...], node: Node, path: str, ctx: Ctx, rule: str) -> str | None:
    """The one form a mapping uses among `keys`, or None after reporting none or several."""
    forms = [k for k in keys if k in v]
    if len(forms) == 1:
        return forms[0]
    listed = ", ".join(keys[:-1]) + " or " + keys[-1]
    ctx.err(node, path, f"needs exactly one of {listed}" if not forms else f"gives {' and '.join(forms)}; {rule}")
    return None


def _probe_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    form = _exactly_one(v, ("path", "tcp", "grpc", "exec"), node, path, ctx, "a probe is one of them")
    if form is None:
        return INVALID
    if "port" in v and form != "path":
        ctx.err(node, path + ".port", f"port goes with path; {form} takes its own value")
        return INVALID
    return v


PROBE_OBJ = Obj({
    "path": Str(r"/.*", "an HTTP path starting with '/'"), "port": PORT_REF,
    "scheme": Str(enum=("HTTP", "HTTPS")), "tcp": PORT_REF, "grpc": PORT_NUMBER,
    "exec": List(Str(), min_items=1),
    **{t: Int(0, bits=64 if t == "terminationGracePeriodSeconds" else 32) for t in TIMINGS},
}, post=_probe_post)


class PathProbe(Str):
    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        text = super().check(node, path, ctx)
        return INVALID if text is INVALID else {"path": text}


PROBE = Union(PathProbe(r"/.*", "an HTTP path starting with '/'"), PROBE_OBJ,
              what="a path, {path, port, ...}, {tcp: port}, {grpc: port} or {exec: [argv]}")


class HealthPath(Str):
    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        text = super().check(node, path, ctx)
        return INVALID if text is INVALID else {"liveness": {"path": text}, "readiness": {"path": text}}


HEALTH = Union(Const(False), HealthPath(r"/.*", "an HTTP path starting with '/'"),
               Obj({"liveness": PROBE, "readiness": PROBE, "startup": PROBE}),
               what="a path, {liveness, readiness, startup} or false")


def _gpu_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    return {"count": v["count"], "resource": v.get("resource", "nvidia.com/gpu")}


GPU = Union(Int(0, bits=64), Obj({"count": Int(0, bits=64), "resource": Str(r"[a-z0-9.-]+/[a-z0-9.-]+", "an extended resource name")},
                        required=("count",), post=_gpu_post), what="a GPU count or {count, resource}")
REQS = Obj({"cpu": CPU, "memory": MEMORY, "ephemeral-storage": MEMORY})


def _resources_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    out: dict[str, Any] = {}
    requests = dict(v.get("requests", {}))
    for k in ("cpu", "memory"):
        if k in v:
            if k in requests:
                ctx.err(node, f"{path}.{k}", f"given twice ({k} and requests.{k})")
                return INVALID
            requests[k] = v[k]
    if requests:
        out["requests"] = requests
    if "limits" in v:
        out["limits"] = dict(v["limits"])
    if "gpu" in v:
        g = v["gpu"]
        out["gpu"] = g if isinstance(g, dict) else {"count": g, "resource": "nvidia.com/gpu"}
    return out


RESOURCES = Obj({"cpu": CPU, "memory": MEMORY, "requests": REQS, "limits": REQS, "gpu": GPU}, post=_resources_post,
                docs={"cpu": "Shorthand for requests.cpu.", "memory": "Shorthand for requests.memory.",
                      "gpu": "GPUs, a limit: a count, or {count, resource} (default resource nvidia.com/gpu)."})


def _scaling_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    engine = v.setdefault("engine", "hpa")
    wrong = [k for k in (("cpu", "memory", "behavior", "metrics") if engine == "keda"
                         else ("triggers", "pollingInterval", "cooldownPeriod")) if k in v]
    for k in wrong:
        ctx.err(ctx.at(f"{path}.{k}"), f"{path}.{k}", f"does not apply to engine {engine}",
                "KEDA takes triggers; the HPA takes cpu, memory, behavior and metrics")
    if engine == "keda" and not v.get("triggers"):
        ctx.err(node, f"{path}.triggers", "is required with engine keda", "for example a prometheus or queue trigger")
        return INVALID
    return INVALID if wrong else v


SCALING_OBJ = Obj({
    "engine": Str(enum=("hpa", "keda")), "minReplicas": Int(0), "maxReplicas": Int(1),
    "cpu": Int(1), "memory": Int(1), "behavior": Raw(), "metrics": Raw("array"),
    "triggers": Raw("array"), "pollingInterval": Int(1), "cooldownPeriod": Int(0),
}, required=("maxReplicas",), post=_scaling_post)
SCALING = Union(Const(False), SCALING_OBJ, what="{minReplicas, maxReplicas, ...} or false")


def _disruption_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    ok = _exactly_one(v, ("minAvailable", "maxUnavailable"), node, path, ctx, "a budget is one of them")
    return INVALID if ok is None else v


_BUDGET = Union(Int(0), Str(PERCENT_OR_INT, "an integer or a percentage", hint="for example 1 or 25%",
                           check_fn=_percent_check), what="an integer or a percentage")  # a share of the pods
DISRUPTION = Union(Const(False), Obj({"minAvailable": _BUDGET, "maxUnavailable": _BUDGET},
                                     post=_disruption_post), what="{minAvailable} or {maxUnavailable}, or false")


def _env_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    form = _exactly_one(v, ("secret", "configMap", "field", "resource"), node, path, ctx,
                        "an env value has one source")
    if form is None:
        return INVALID
    if form in ("secret", "configMap") and "key" not in v:
        ctx.err(node, path + ".key", f"is required with {form}")
        return INVALID
    if form in ("field", "resource") and "key" in v:
        ctx.err(node, path + ".key", f"does not apply to {form}")
        return INVALID
    return v


class EnvLiteral(Str):
    def accepts(self, node: Node) -> bool:
        from helmgen.spec.load import Scalar
        return isinstance(node, Scalar)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        from helmgen.spec.load import Scalar
        assert isinstance(node, Scalar)
        if node.value is None:
            return {"value": ""}
        return {"value": node.value if isinstance(node.value, str) else node.text}


ENV = Map(Union(EnvLiteral(), Obj({
    "secret": Str(DNS_SUBDOMAIN, "a Secret name", max_len=253), "configMap": Str(DNS_SUBDOMAIN, "a ConfigMap name", max_len=253),
    "key": Str(SECRET_KEY, "a valid key"), "field": Str(
        r"metadata\.(?:name|namespace|uid)|metadata\.(?:labels|annotations)\['[^']+'\]|spec\.(?:nodeName|"
        r"serviceAccountName)|status\.(?:hostIPs?|podIPs?)", "a field Kubernetes gives to env (fieldRef)",
        hint="metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], metadata.annotations['KEY'], "
             "spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP or status.podIPs"),
    "resource": Str(r"(limits|requests)\.(cpu|memory|ephemeral-storage|hugepages-[^ ]+)", "a resource field",
                    hint="for example limits.memory"),
    "optional": Bool(),
}, post=_env_post), what="a literal or {secret, key}, {configMap, key}, {field} or {resource}"),
    key=Str(ENV_NAME, "a valid environment variable name"))


def _env_from_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    ok = _exactly_one(v, ("secret", "configMap"), node, path, ctx, "an envFrom entry has one source")
    return INVALID if ok is None else v


ENV_FROM = List(Obj({"secret": Str(DNS_SUBDOMAIN, "a Secret name", max_len=253),
                     "configMap": Str(DNS_SUBDOMAIN, "a ConfigMap name", max_len=253),
                     "prefix": Str(ENV_NAME, "a valid prefix"), "optional": Bool()}, post=_env_from_post))
CONFIG = Obj({
    "mountPath": Str(r"/.*", "an absolute path"),
    "files": Map(Str(), key=Str(r"[-._a-zA-Z0-9]+", "a valid file name (letters, digits, '-', '_', '.')", max_len=253,
                                check_fn=_key_check),
                 min_items=1),
    "reload": Str(enum=("restart", "live")),
}, required=("files",))
STATE = Obj({
    "size": Str(QUANTITY, "a storage size", hint="for example 1Gi", check_fn=_size_check, numeric=True),
    "mountPath": Str(r"/.*", "an absolute path"),
    "storageClass": Str(f"(?:{DNS_SUBDOMAIN})?", "a StorageClass name", max_len=253,
                        hint="a DNS-1123 subdomain: lowercase letters, digits, '-' and '.'"),
    "accessModes": List(Str(enum=("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")), min_items=1),
    "retain": Bool(),
}, required=("size",))


def _expose_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "gateway" in v:
        bad = [k for k in ("className", "tls") if k in v]
        for k in bad:
            ctx.err(ctx.at(f"{path}.{k}"), f"{path}.{k}", "applies to an Ingress, not to a gateway route")
        if bad:
            return INVALID
    return v


EXPOSE = Obj({
    "host": Str(r"(\*\.)?" + DNS_SUBDOMAIN, "a host name", max_len=253), "path": Str(r"/.*", "a path starting with '/'"),
    "pathType": Str(enum=("Prefix", "Exact", "ImplementationSpecific")), "port": PORT_REF,
    "className": Str(), "tls": Obj({"secretName": Str(DNS_SUBDOMAIN, "a Secret name", max_len=253)}, required=("secretName",)),
    "annotations": STR_MAP,
    "gateway": Obj({"name": Str(min_len=1), "namespace": Str(DNS_LABEL, "a namespace", max_len=63), "sectionName": Str()},
                   required=("name",)),
}, post=_expose_post)


class Number(T):
    """A number (integer or decimal), for thresholds such as an error rate."""

    def __init__(self, minimum: float | None = None) -> None:
        self.minimum = minimum

    def expects(self) -> str:
        return "a number" if self.minimum is None else f"a number >= {self.minimum:g}"

    def accepts(self, node: Node) -> bool:
        from helmgen.spec.load import Scalar
        return isinstance(node, Scalar) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        import math

        from helmgen.spec.load import Scalar
        if not self.accepts(node):
            return self.wrong(node, path, ctx)
        assert isinstance(node, Scalar)
        v = node.value
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return self.wrong(node, path, ctx)
        if self.minimum is not None and v < self.minimum:
            ctx.err(node, path, f"{v} is out of range (expected {self.expects()})")
            return INVALID
        return v

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            s["minimum"] = self.minimum
        return self._described(s)


DURATION = Str(r"\d+(ms|s|m|h)", "a duration", hint="for example 30s, 5m or 1h")


def _step_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    return v if _exactly_one(v, ("setWeight", "pause"), node, path, ctx, "a step is one of them") else INVALID


# a canary track or a blue-green slot: what differs from the agent (image or tag, env, config files)
TRACK_FIELDS: dict[str, T] = {
    "image": IMAGE, "tag": Str(IMAGE_TAG.pattern, "a valid image tag", hint="for example 1.9.0"), "env": ENV,
    "config": Obj({"files": CONFIG.fields["files"]}, required=("files",)),
}
VERSION_FIELDS = ("image", "tag", "env", "config")  # a canary with none of them is no canary in flight


def _track_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "image" in v and "tag" in v:
        ctx.err(node, path + ".tag", "gives tag together with image", "put the tag in image (repo:tag) or drop image")
        return INVALID
    return v


CANARY = Obj({**TRACK_FIELDS, "weight": Int(0, 100),
              "steps": List(Obj({"setWeight": Int(0, 100),
                                 "pause": Obj({"duration": DURATION})}, post=_step_post), min_items=1)},
             post=_track_post)
SLOT = Obj(TRACK_FIELDS, post=_track_post)
BLUE_GREEN = Obj({"active": Str(enum=("blue", "green")), "blue": SLOT, "green": SLOT})


def _bound_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "max" in v and "min" in v:
        ctx.err(node, path, "gives min and max together", "a check has one condition; use two metrics")
        return INVALID
    if "max" not in v and "min" not in v:
        ctx.err(node, path, "needs max or min", "the threshold the query must stay under (max) or over (min)")
        return INVALID
    return v


METRIC = Obj({"name": Str(DNS_LABEL, "a metric name (lowercase letters, digits and '-')", max_len=63),
              "query": Str(min_len=1), "max": Number(), "min": Number(), "interval": DURATION,
              "count": Int(1), "failureLimit": Int(0)}, required=("name", "query"), post=_bound_post)


def _analysis_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "metrics" in v:
        both = [k for k in ("query", "maxErrorRate") if k in v]
        if both:
            ctx.err(node, f"{path}.{both[0]}", "goes with the one-check form, not with metrics",
                    "move it into a metrics item")
            return INVALID
        return v
    missing = [k for k in ("query", "maxErrorRate") if k not in v]
    if missing:
        ctx.err(node, f"{path}.{missing[0]}", "is required (or give metrics)",
                "query: the error rate as a PromQL expression; maxErrorRate: its highest accepted value")
        return INVALID
    return v


ANALYSIS = Obj({"prometheus": URL, "query": Str(min_len=1), "maxErrorRate": Number(0),
                "metrics": List(METRIC, min_items=1)}, required=("prometheus",), post=_analysis_post)

# what each strategy and engine takes (the refusal of the others' fields is in spec/rollout.py)
ROLLOUT = Obj({"strategy": Str(enum=("rolling", "canary", "blueGreen")), "maxSurge": INT_OR_PERCENT,
               "maxUnavailable": INT_OR_PERCENT, "engine": Str(enum=("native", "argo")), "canary": CANARY,
               "blueGreen": BLUE_GREEN, "analysis": ANALYSIS})
JOB = Obj({
    "backoffLimit": Int(0), "activeDeadlineSeconds": Int(1, bits=64), "ttlSecondsAfterFinished": Int(0),
    "parallelism": Int(0), "completions": Int(0),
    "concurrencyPolicy": Str(enum=("Allow", "Forbid", "Replace")), "timeZone": Str(r"[A-Za-z_+\-/0-9]+", "a time zone"),
    "successfulJobsHistoryLimit": Int(0), "failedJobsHistoryLimit": Int(0), "startingDeadlineSeconds": Int(0, bits=64),
    "suspend": Bool(),
    # a Job run as a Helm hook (spec/runtime.py checks it is a Job)
    "hook": List(Str(enum=HOOK_EVENTS), min_items=1, unique=True), "hookWeight": Int(-10000, 10000),
})
def _cidr_problem(text: str) -> str | None:
    import ipaddress

    if "/" not in text:
        return "is not a CIDR: it has no prefix length"
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return "is not a CIDR"
    return None


CIDR = Str(what="a CIDR", check_fn=_cidr_problem, hint="for example 10.0.0.0/8 or fd00::/8")


def _peer_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if not v:
        ctx.err(node, path, "names no peer", "give podSelector, namespaceSelector or ipBlock")
        return INVALID
    if "ipBlock" in v and len(v) > 1:
        ctx.err(node, path, "gives ipBlock together with a selector", "Kubernetes takes ipBlock alone; use two peers")
        return INVALID
    return v


def _expression_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    """A label selector requirement as the API server takes it: In/NotIn need values, Exists/DoesNotExist none."""
    if v["operator"] in ("In", "NotIn") and not v.get("values"):
        ctx.err(node, path, f"operator {v['operator']} needs values", "for example values: [a, b]")
        return INVALID
    if v["operator"] in ("Exists", "DoesNotExist") and v.get("values"):
        ctx.err(node, path, f"operator {v['operator']} takes no values", "drop values, or use In")
        return INVALID
    return v


def _ip_block_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    """Each `except` must lie inside `cidr` (the API server refuses the NetworkPolicy otherwise)."""
    import ipaddress

    cidr = ipaddress.ip_network(v["cidr"], strict=False)
    for i, text in enumerate(v.get("except") or []):
        inner = ipaddress.ip_network(text, strict=False)
        if inner.version != cidr.version or not inner.subnet_of(cidr) or inner == cidr:  # type: ignore[arg-type]
            assert isinstance(node, Mapping)
            seq = node.items["except"][1]
            where = seq.items[i] if isinstance(seq, Sequence) else node
            ctx.err(where, f"{path}.except[{i}]", f"{text!r} is not inside cidr {v['cidr']}",
                    "an except is a smaller range within cidr")
            return INVALID
    return v


# a LabelSelector (meta/v1): a selector with any other key would be dropped by the API server, widening it
LABEL_SELECTOR = Obj({"matchLabels": Map(Str(LABEL_VALUE, "a valid label value", max_len=63),
                                         key=Str(LABEL_KEY, "a valid label key", max_len=316)),
                      "matchExpressions": List(Obj(
    {"key": Str(LABEL_KEY, "a valid label key", max_len=316),
     "operator": Str(enum=("In", "NotIn", "Exists", "DoesNotExist")),
     "values": List(Str(LABEL_VALUE, "a valid label value", max_len=63))},
    required=("key", "operator"), post=_expression_post))})
# a NetworkPolicy peer, as in Kubernetes (networking.k8s.io/v1 NetworkPolicyPeer)
NETWORK_PEER = Obj({"podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
                    "ipBlock": Obj({"cidr": CIDR, "except": List(CIDR)}, required=("cidr",), post=_ip_block_post)},
                   post=_peer_post, what="a NetworkPolicy peer (podSelector, namespaceSelector or ipBlock)")
MONITORING = Obj({"port": PORT_REF, "path": Str(r"/.*", "a path starting with '/'"), "serviceMonitor": Bool(),
                  "interval": Str(r"\d+(ms|s|m|h)", "a duration", hint="for example 30s"),
                  "allowFrom": List(NETWORK_PEER)})
SERVICE = Obj({"type": Str(enum=("ClusterIP", "NodePort", "LoadBalancer", "None")), "annotations": STR_MAP})
SERVICE_ACCOUNT = Obj({"create": Bool(), "name": Str(DNS_SUBDOMAIN, "a ServiceAccount name", max_len=253),
                       "annotations": STR_MAP})
LABELS = Map(Str(LABEL_VALUE, "a valid label value", max_len=63), key=Str(LABEL_KEY, "a valid label key", max_len=316))


# secret name -> where its keys appear as files (a declared secret, or an existing Secret's name)
SECRET_MOUNTS = Map(Obj({"mountPath": Str(r"/.*", "an absolute path"), "reload": Str(enum=("live", "restart"))},
                        required=("mountPath",)), key=Str(DNS_SUBDOMAIN, "a Secret name", max_len=253))
OBJECTS = List(Raw())  # Kubernetes objects (containers, volumes, mounts), passed through as they are


class PolicyRule(Raw):
    """An rbac.authorization.k8s.io/v1 PolicyRule: its lists are lists of strings (`verbs: '*'` is not one)."""

    LISTS = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")

    def __init__(self, namespaced: bool = False) -> None:
        super().__init__()
        self.namespaced = namespaced  # a Role's rule (rules), not a ClusterRole's (clusterRules)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        v = super().check(node, path, ctx)
        if v is INVALID:
            return INVALID
        assert isinstance(node, Mapping)
        ok = True
        for key in v:
            if key not in self.LISTS:
                close = difflib.get_close_matches(key, self.LISTS, n=1, cutoff=0.6)
                ctx.err(node.items[key][0], f"{path}.{key}", "unknown field",
                        f'did you mean "{close[0]}"?' if close else "known fields: " + ", ".join(self.LISTS))
                ok = False
        for key in self.LISTS:
            items = v.get(key)
            if key in v and (not isinstance(items, list) or not all(isinstance(x, str) for x in items)):
                knode = node.items[key][0]
                ctx.err(knode, f"{path}.{key}", "expected a list of strings",
                        f"for example {key}: ['*']" if items == "*" else "")
                ok = False
        if ok:  # what the API server's rbac validation refuses (a Role or ClusterRole it would not create)
            ok = self._grants(v, node, path, ctx)
        return v if ok else INVALID

    def _grants(self, v: dict[str, Any], node: Mapping, path: str, ctx: Ctx) -> bool:
        problem, hint = "", ""
        if not v.get("verbs"):
            problem, hint = "a rule needs verbs", "for example verbs: [get, list, watch]"
        elif v.get("nonResourceURLs"):
            if self.namespaced:
                problem, hint = "nonResourceURLs apply to the whole cluster, not to a Role", "move it to clusterRules"
            elif v.get("apiGroups") or v.get("resources"):
                problem, hint = ("a rule gives either nonResourceURLs or apiGroups and resources, not both",
                                 "split it into two rules")
        elif not v.get("apiGroups"):
            problem, hint = "a resource rule needs apiGroups", "for example apiGroups: [''] for the core group"
        elif not v.get("resources"):
            problem, hint = "a resource rule needs resources", "for example resources: [pods]"
        if problem:
            ctx.err(node, path, problem, hint)
        return not problem

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "object", "required": ["verbs"], "additionalProperties": False, "properties": {
            k: {"type": "array", "items": {"type": "string"}} for k in self.LISTS}})


def _agent_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "port" in v:
        if "ports" in v:
            ctx.err(ctx.at(f"{path}.port"), f"{path}.port", "given together with ports", "use one of them")
            return INVALID
        v["ports"] = {"http": {"port": v.pop("port"), "protocol": "TCP"}}
    if "ports" in v:
        v["ports"] = {k: p if isinstance(p, dict) else {"port": p, "protocol": "TCP"} for k, p in v["ports"].items()}
    return v


class AgentField(NamedTuple):
    """One row of AGENT_FIELDS."""

    type: T | None  # the spec's type; None: a key of values.yaml only, which helmgen derives
    doc: str  # one line: the description in both schemas, docs/spec.md, values.yaml and the chart README
    note: str = ""  # what values.yaml and the README add after `doc` (after a space): values-only details
    values: bool = True  # False: a spec shorthand, with no key of its own in values.yaml


# a talksTo item: a target's name, or where and how to call it (the variable renamed, or none: env false)
TALKS_TO = Union(AGENT_NAME, Obj({
    "agent": AGENT_NAME, "port": Str(PORT_NAME, "a port name"),
    "scheme": Str(r"[a-z][a-z0-9+.-]*", "a URL scheme", hint="for example http, https, nats or grpc"),
    "path": Str(r"/\S*", "a path starting with '/'", hint="for example /v1 or /sse"),
    "env": Union(Const(False), Str(ENV_NAME, "a valid environment variable name"),
                 what="a variable name or false"),
}, required=("agent",), what="{agent, port, scheme, path, env}"), what="an agent name or {agent, port, scheme, path, env}")


# The agent's fields, once. The spec type, the published schema's descriptions and docs/spec.md's field table
# come from here; values.yaml's comments and the chart README's values table too (chart/values.py DOCS). The
# model (spec/model.py Agent), the values tree (chart/values.py agent_values) and values.schema.json
# (chart/schema.py agent_schema) are written out, and tests/test_agent_fields.py compares their keys with
# this table. Adding a field: a row here, then each of those (the test names what is missing where).
AGENT_FIELDS: dict[str, AgentField] = {
    "enabled": AgentField(Bool(), "false: render nothing for this agent."),
    "description": AgentField(Str(), "One line; shown in the chart README and as the agentgen.io/description "
                                     "annotation."),
    "kind": AgentField(Str(enum=("Deployment", "StatefulSet", "Job", "CronJob")),
                       "Deployment, StatefulSet, Job or CronJob."),
    "image": AgentField(IMAGE, "The container image; no tag and no digest means the chart's appVersion."),
    "command": AgentField(STRINGS, "Overrides the image's entrypoint."),
    "args": AgentField(STRINGS, "Arguments to the entrypoint."),
    "port": AgentField(PORT_NUMBER, "One TCP port, named http: a shorthand for ports.", values=False),
    "ports": AgentField(PORTS, "Container ports by name; the first is the agent's primary port.",
                        "See primaryPort."),
    "primaryPort": AgentField(None, "The port other agents call (talksTo URLs), probes default to and expose "
                                    "serves."),
    "service": AgentField(SERVICE, "The agent's Service (exists when the agent has ports; headless for a "
                                   "StatefulSet)."),
    "replicas": AgentField(Int(0), "Number of pods; ignored while scaling is set (the autoscaler owns it)."),
    "resources": AgentField(RESOURCES, "Requests and limits of the agent's container (a GPU is a limit)."),
    "health": AgentField(HEALTH, "Kubernetes probes: liveness, readiness and startup.", "null turns one off."),
    "scaling": AgentField(SCALING, "Autoscaling: a HorizontalPodAutoscaler, or a KEDA ScaledObject with "
                                   "engine: keda.", "null: fixed replicas."),
    "disruption": AgentField(DISRUPTION, "PodDisruptionBudget (minAvailable or maxUnavailable).", "null: none."),
    "env": AgentField(ENV, "Environment variables by name: {value}, {secret, key}, {configMap, key}, {field} or "
                           "{resource}; a value may hold ${agents.NAME.host|fqdn|port|url|ports.P}, ${self.…}, "
                           "${deps.NAME.…}, ${secrets.S.K}, ${release}, ${namespace}."),
    "envOrder": AgentField(None, "The order of env's variables in the container: as written, each after the "
                                 "variables it uses through $(VAR).", "A variable not listed (added in a values file) "
                                 "comes after\nthem, in name order; any variable comes after the variables it uses."),
    "secretMounts": AgentField(SECRET_MOUNTS, "Secrets whose keys appear as files: secret name -> {mountPath, reload}; "
                                              "no subPath, so a rotated value reaches the running pod."),
    "allowFrom": AgentField(List(NETWORK_PEER), "NetworkPolicy peers (podSelector, namespaceSelector, ipBlock) also "
                                                "admitted to the agent's ports: callers outside the release."),
    "agentCard": AgentField(Str(r"/.*", "a path starting with '/'"), "Where an a2a agent serves its card (readiness "
                                                                     "and helm test fetch it)."),
    "envFrom": AgentField(ENV_FROM, "Whole Secrets or ConfigMaps as environment variables."),
    "config": AgentField(CONFIG, "Files mounted as a directory from a ConfigMap.",
                         "reload: restart rolls the pods when\nthey change; live leaves the pods running and the "
                         "agent re-reads the files."),
    "state": AgentField(STATE, "Persistent storage: a PersistentVolumeClaim per replica (StatefulSet)."),
    "talksTo": AgentField(List(TALKS_TO, unique=True), "Agents (or dependencies) this agent calls: a name, or "
                                                       "{agent, port, scheme, path, env: NAME or false}; each adds "
                                                       "<TARGET>_URL (or env) and opens the target's NetworkPolicy."),
    "expose": AgentField(EXPOSE, "Outside access: an Ingress, or with gateway a Gateway API HTTPRoute.",
                         "null: none."),
    "serviceAccount": AgentField(SERVICE_ACCOUNT, "The agent's ServiceAccount; its token is mounted only when "
                                                  "rbac is set."),
    "rbac": AgentField(Obj({"rules": List(PolicyRule(namespaced=True)), "clusterRules": List(PolicyRule())}),
                       "Role (rules) and ClusterRole (clusterRules) bound to the agent's ServiceAccount.",
                       "null: none."),
    "protocol": AgentField(Str(enum=("http", "a2a", "mcp")), "http, a2a (readiness on the agent card, checked "
                                                             "by helm test) or mcp."),
    "rollout": AgentField(ROLLOUT, "How a new version rolls out: rolling (default), canary or blueGreen, on the native "
                          "engine or Argo Rollouts."),
    "monitoring": AgentField(MONITORING, "Prometheus scraping: pod annotations, or a ServiceMonitor.",
                             "null: none."),
    "schedule": AgentField(SCHEDULE, "CronJob schedule (cron syntax)."),
    "job": AgentField(JOB, "Job and CronJob settings."),
    "terminationGracePeriodSeconds": AgentField(Int(0, bits=64), "Seconds a pod has to stop after SIGTERM."),
    "priorityClassName": AgentField(Str(DNS_SUBDOMAIN, "a PriorityClass name"), "PriorityClass of the pods."),
    "nodeSelector": AgentField(STR_MAP, "Node labels the pods must run on."),
    "tolerations": AgentField(Raw("array"), "Taints the pods tolerate."),
    "affinity": AgentField(Raw(), "Pod and node affinity."),
    "topologySpreadConstraints": AgentField(Raw("array"), "How pods spread over zones and nodes."),
    "podAnnotations": AgentField(STR_MAP, "Extra pod annotations."),
    "podLabels": AgentField(LABELS, "Extra pod labels (not selector labels)."),
    "securityContext": AgentField(Raw(), "The agent container's securityContext settings, merged over "
                                         "securityDefaults.container."),
    "podSecurityContext": AgentField(Raw(), "The agent pod's securityContext settings, merged over "
                                            "securityDefaults.pod."),
    "initContainers": AgentField(OBJECTS, "Init containers (they get the agent's securityContext under their own)."),
    "sidecars": AgentField(OBJECTS, "Extra containers beside the agent (they get the agent's securityContext under "
                                    "their own)."),
    "volumes": AgentField(OBJECTS, "Extra pod volumes."),
    "volumeMounts": AgentField(OBJECTS, "Extra volume mounts of the agent's container."),
}


def agent_type(required: tuple[str, ...]) -> Obj:
    fields = {k: f.type for k, f in AGENT_FIELDS.items() if f.type is not None}
    return Obj(fields, required=required, xkeys=True, post=_agent_post, what="an agent (a mapping with at least image)",
               docs={k: AGENT_FIELDS[k].doc for k in fields})


class Defined(T):
    """A type the published schema holds once, under `definitions`, and names by `$ref` where it is used."""

    def __init__(self, name: str, inner: T) -> None:
        self.name = name
        self.inner = inner

    def expects(self) -> str:
        return self.inner.expects()

    def accepts(self, node: Node) -> bool:
        return self.inner.accepts(node)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        return self.inner.check(node, path, ctx)

    def schema(self) -> dict[str, Any]:
        return self._described({"$ref": f"#/definitions/{self.name}"})


def _secret_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "existingSecret" in v and "external" in v:
        ctx.err(node, path, "gives both existingSecret and external", "a secret comes from one place")
        return INVALID
    if v.get("reload") == "restart" and "existingSecret" not in v and "external" not in v:
        ctx.err(ctx.at(f"{path}.reload"), f"{path}.reload", "applies to an existingSecret or external secret",
                "pods that read a chart-managed Secret roll when its values change already")
        return INVALID
    return v


# a secret's fields (the published schema; values.yaml and the chart README say the same of secrets.<secret>)
SECRET_DOCS: dict[str, str] = {
    "keys": "The keys agents may reference.",
    "existingSecret": "Use this existing Secret instead of creating one.",
    "external": "Create the Secret with an ExternalSecret (external-secrets.io/v1) from this store.",
    "reload": "existingSecret or external: restart adds stakater Reloader's annotation to the workloads that read "
              "it, so they roll when it changes (a created Secret rolls them through a checksum).",
}
SECRET = Obj({
    "keys": List(Str(SECRET_KEY, "a valid Secret key (letters, digits, '-', '_', '.')", max_len=253, check_fn=_key_check),
                 min_items=1, unique=True),
    "existingSecret": Str(DNS_SUBDOMAIN, "a Secret name", max_len=253),
    "external": Obj({"store": Str(min_len=1), "kind": Str(enum=("SecretStore", "ClusterSecretStore")),
                     "remoteKey": Str(min_len=1), "refreshInterval": Str(r"\d+(s|m|h)", "a duration")},
                    required=("store", "remoteKey")),
    "reload": Str(enum=("live", "restart")),  # existing or external only: Reloader rolls the pods that read it
}, required=("keys",), xkeys=True, post=_secret_post, docs=SECRET_DOCS)

def _repository_check(text: str) -> str | None:
    """A chart repository Helm can fetch from: https://, oci://, file:// (http:// is a warning, in dependencies.py)."""
    m = re.fullmatch(r"(https?|oci|file)://(\S+)", text)
    if not m:
        return "is not a chart repository URL"
    if m.group(1) != "file" and not re.match(r"[^/?#\s]+", m.group(2)):
        return "has no host"
    if m.group(1) != "file":
        from urllib.parse import urlsplit

        url = urlsplit(text)
        if url.username is not None or url.password is not None:  # Chart.yaml would carry them
            return "holds credentials, which Chart.yaml would carry to everyone who gets the chart: log in " \
                   "with helm registry login or helm repo add --username instead"
        try:
            port = url.port
        except ValueError:  # out of range or not a number
            port = 0
        if port == 0:
            return "has an invalid port"
    return None


def _host_check(text: str) -> str | None:
    """A Service host name, where ${release} and ${namespace} stand for the release's."""
    rest = re.sub(r"\$\{(release|namespace)\}", "x", text)
    if "${" in rest:
        return "may hold only ${release} and ${namespace}"
    if not re.fullmatch(DNS_SUBDOMAIN, rest) or len(rest) > 253:
        return "is not a valid host name"
    return None


# A dependency: an existing chart installed as a subchart (docs/spec.md "Dependencies")
DEPENDENCY = Obj({
    "repository": Str(what="a chart repository URL", check_fn=_repository_check,
                      hint="https://…, oci://… or file://…, for example oci://registry-1.docker.io/bitnamicharts"),
    "chart": Str(r"[A-Za-z0-9][-A-Za-z0-9_.]*", "a chart name", max_len=250),
    "version": Str(min_len=1, what="a version range", check_fn=constraint_problem,
                   hint="a SemVer range as Helm takes it, for example 16.4.x or ^1.2.0"),
    "values": Raw(),
    "host": Str(what="a host name", check_fn=_host_check, hint="for example ${release}-postgresql"),
    "port": PORT_NUMBER,
}, required=("repository", "version"), xkeys=True, what="a dependency ({repository, version, …})")
# what an environment may change of a dependency
DEPENDENCY_OVERRIDE = Obj({"enabled": Bool(), "values": Raw()}, xkeys=True,
                          what="a dependency override ({enabled, values})")
DEPENDENCY_NAME = dns_name(40, "dependency name")

CHART_META = Obj({
    "home": URL, "icon": URL, "sources": List(URL), "keywords": STRINGS,
    "maintainers": List(Obj({"name": Str(min_len=1), "email": Str(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address"),
                             "url": URL}, required=("name",))),
    "annotations": STR_MAP, "deprecated": Bool(),
})


class ApiVersion(Str):
    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        text = super().check(node, path, ctx)
        if text is not INVALID and text not in SPEC_API_VERSIONS:
            ctx.err(node, path, f"{text!r} is not supported", "supported: " + ", ".join(SPEC_API_VERSIONS))
            return INVALID
        return text


def _manifest_problem(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "must be a Kubernetes object"
    missing = [k for k in ("apiVersion", "kind") if not isinstance(v.get(k), str) or not v.get(k)]
    meta = v.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        missing.append("metadata.name")
    return f"misses {', '.join(missing)}" if missing else None


class Manifest(Raw):
    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        v = super().check(node, path, ctx)
        if v is not INVALID and (msg := _manifest_problem(v)):
            ctx.err(node, path, msg, "each entry is a whole object: apiVersion, kind, metadata.name, ...")
            return INVALID
        return v


def _strip_nulls(node: Node, path: tuple[str, ...], out: list[tuple[str, ...]]) -> Node:
    """A copy of a mapping without its `key: null` entries, whose paths go to `out`."""
    from helmgen.spec.load import Mapping, Scalar

    if not isinstance(node, Mapping):
        return node
    copy = Mapping(node.line, node.column)
    for k, (knode, v) in node.items.items():
        if isinstance(v, Scalar) and v.value is None and v.plain:
            out.append(path + (k,))
        else:
            copy.items[k] = (knode, _strip_nulls(v, path + (k,), out))
    return copy


# `null` in an environment removes a setting. Shorthand names map to where the setting lives.
_NULL_ALIASES = {("port",): ("ports",), ("resources", "cpu"): ("resources", "requests", "cpu"),
                 ("resources", "memory"): ("resources", "requests", "memory")}


def deferred_post(t: Obj) -> bool:
    """Whether an override leaves `t`'s post hook to the merged agent (spec/overrides.py): it needs the
    whole object (a required field) or fills in a default (engine: hpa) the agent may set otherwise."""
    return t.post is not None and (bool(t.required) or t.post is _scaling_post)


def partial_type(t: T) -> T:
    """`t` as an override writes it: objects reached through mappings may leave out their required fields,
    since an override merges key by key over the agent (list items are whole values, so stay as they are)."""
    import copy

    if isinstance(t, Obj):
        out = copy.copy(t)
        out.fields = {k: partial_type(f) for k, f in t.fields.items()}
        out.required = ()
        out.post = None if deferred_post(t) else t.post
        return out
    if isinstance(t, Map):
        m = copy.copy(t)
        m.value = partial_type(t.value)
        return m
    if isinstance(t, Union):
        u = copy.copy(t)
        u.alts = tuple(partial_type(a) for a in t.alts)
        return u
    return t


class Overrides(T):
    """An agent (or defaults) inside an environment: any agent field, and `null` to remove one; an object
    field may be partial (`state: {storageClass: fast}`), as it merges key by key over the agent.
    Returns {"set": <checked fields>, "unset": [paths]}."""

    def __init__(self) -> None:
        self.agent = partial_type(agent_type(()))

    def expects(self) -> str:
        return self.agent.expects()

    def accepts(self, node: Node) -> bool:
        return self.agent.accepts(node)

    def check(self, node: Node, path: str, ctx: Ctx) -> Any:
        from helmgen.spec.load import Scalar

        if isinstance(node, Scalar) and node.value is None and not node.invalid:
            ctx.err(node, path, "null cannot remove a whole agent",
                    "use enabled: false to turn the agent off in this environment")
            return INVALID
        unset: list[tuple[str, ...]] = []
        value = self.agent.check(_strip_nulls(node, (), unset), path, ctx)
        removes_image = [p for p in unset if p[0] == "image"]
        for p in removes_image:
            ctx.err(ctx.at(path + "." + ".".join(p)), path + "." + ".".join(p), "cannot be removed",
                    "every agent needs an image; use enabled: false to remove the agent")
        if removes_image:
            if value is not INVALID:
                ctx.partials[path] = value
            ctx.bad.setdefault(path, set()).add("image")
            value = INVALID
        if value is INVALID:
            # the valid part, for the cross-field checks (the set fields that passed, and the removals)
            part = ctx.partials.get(path)
            if isinstance(part, dict) and "set" not in part:
                ctx.partials[path] = {"set": part, "unset": [_NULL_ALIASES.get(p, p) for p in unset
                                                             if p[0] != "image"]}
            return INVALID
        for p in [p for p in unset if len(p) == 2 and p[0] in ("securityContext", "podSecurityContext")]:
            # as in the spec: null there removes that secure default (not merely the agent's own setting)
            value.setdefault(p[0], {})[p[1]] = None
            unset.remove(p)
        return {"set": value, "unset": [_NULL_ALIASES.get(p, p) for p in unset]}

    def schema(self) -> dict[str, Any]:
        return self._described({"$ref": "#/definitions/agentOverrides"})

    def definition(self) -> dict[str, Any]:
        """The agent's fields, each also null; each refers to the agent's own definition of that field, or
        where that requires a sub-field an override may leave to the agent, is written out without it."""
        s = self.agent.schema()
        whole = agent_type(()).schema()["properties"]
        s["properties"] = {k: {"description": v["description"],
                               "anyOf": [_override_map(k, whole[k], v), {"type": "null"}]}
                           for k, v in s["properties"].items()}
        return s


def _override_map(name: str, whole: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    """A field in an override (`field`: its partial form; `whole`: the agent's): in a map field (env, ports,
    nodeSelector, …) an entry may be null too, which removes it (`env: {DEBUG: null}`); so may a field of an
    object field (`expose: {tls: null}`). A part the same as the agent's refers to the agent's definition."""
    ref = f"#/definitions/agent/properties/{name}"
    if field.get("type") == "object" and isinstance(field.get("properties"), dict):
        out = {k: v for k, v in field.items() if k not in ("description", "properties")}
        agents = whole.get("properties", {})
        out["properties"] = {p: {"anyOf": [{"$ref": f"{ref}/properties/{p}"} if agents.get(p) == sub else sub,
                                           {"type": "null"}]} for p, sub in field["properties"].items()}
        return out
    if field.get("type") == "object" and isinstance(field.get("additionalProperties"), dict):
        out = {k: v for k, v in field.items() if k in ("type", "propertyNames", "minProperties", "maxProperties")}
        entry = {"$ref": f"{ref}/additionalProperties"} if whole.get("additionalProperties") == \
            field["additionalProperties"] else field["additionalProperties"]
        out["additionalProperties"] = {"anyOf": [entry, {"type": "null"}]}
        return out
    if {k: v for k, v in whole.items() if k != "description"} == {k: v for k, v in field.items() if k != "description"}:
        return {"$ref": ref}
    return {k: v for k, v in field.items() if k != "description"}


# an environment's view of a secret: what it changes (a new secret needs its keys, checked in spec/runtime.py)
def _secret_override_post(v: dict[str, Any], node: Node, path: str, ctx: Ctx) -> Any:
    if "existingSecret" in v and "external" in v:
        ctx.err(node, path, "gives both existingSecret and external", "a secret comes from one place")
        return INVALID
    return v


SECRET_OVERRIDE = Obj(dict(SECRET.fields), xkeys=True, post=_secret_override_post,
                      what="a secret's settings in this environment (keys, existingSecret, external, reload)")
ENVIRONMENT = Obj({"defaults": Overrides(), "agents": Map(Overrides(), key=AGENT_NAME),
                   "dependencies": Map(DEPENDENCY_OVERRIDE, key=DEPENDENCY_NAME),
                   "secrets": Map(SECRET_OVERRIDE, key=dns_name(40, "secret name"))}, xkeys=True,
                  what="an environment ({defaults, agents, dependencies, secrets})", docs={
                      "defaults": "Agent fields merged under every agent in this environment; null removes a setting.",
                      "agents": "Agents by name as they differ in this environment (or exist only there); null "
                                "removes a setting, enabled: false the agent.",
                      "dependencies": "Dependencies by key as they differ in this environment: enabled, values.",
                      "secrets": "Secrets by name as they differ in this environment (for example existingSecret or "
                                 "external in prod)."})


def spec_type() -> Obj:
    return Obj({
        "apiVersion": ApiVersion(), "name": Str(DNS_LABEL, "a valid chart name (lowercase letters, digits and '-')",
                                                max_len=53, min_len=1),
        "version": Str(SEMVER, "a SemVer 2 version", hint="for example 0.3.0"), "appVersion": Str(min_len=1),
        "description": Str(), "kubeVersion": Str(min_len=1, what="a version constraint", check_fn=constraint_problem,
                                               hint="as Helm takes it, for example '>=1.29.0-0'"), "chart": CHART_META,
        "imagePullSecrets": List(Str(DNS_SUBDOMAIN, "a Secret name", max_len=253), unique=True),
        "networkPolicy": Bool(), "secrets": Map(SECRET, key=dns_name(40, "secret name")),
        "defaults": Defined("agent", agent_type(())),
        "agents": Map(Defined("agent", agent_type(())), key=AGENT_NAME, min_items=1,
                      what="a mapping of agent name to agent"),
        "environments": Map(ENVIRONMENT, key=dns_name(40, "environment name")),
        "dependencies": Map(DEPENDENCY, key=DEPENDENCY_NAME),
        "extraManifests": List(Manifest()),
    }, required=("apiVersion", "name", "version", "agents"), xkeys=True, what="a mapping (the agent spec)",
        docs=SPEC_DOCS)


# The descriptions of the spec's top-level fields (published schema)
SPEC_DOCS: dict[str, str] = {
    "apiVersion": "The version of this format: agentgen/v1.",
    "name": "The chart name (a DNS-1123 label, at most 53 characters); the chart is written to <out>/<name>/.",
    "version": "The chart version (SemVer 2).",
    "appVersion": "The application version (default: version); the image tag of every agent with no tag and no "
                  "digest.",
    "description": "The chart's description in Chart.yaml (default: <name>: a multi-agent system).",
    "kubeVersion": "The Kubernetes versions the chart supports, a constraint as Helm takes it (for example "
                   ">=1.29.0-0); copied to Chart.yaml.",
    "chart": "More Chart.yaml metadata: home, icon, sources, keywords, maintainers, annotations, deprecated.",
    "imagePullSecrets": "Names of existing Secrets used to pull every agent's image.",
    "networkPolicy": "true (default): one NetworkPolicy per agent; it accepts traffic only from the agents that "
                     "list it in talksTo (and from anywhere on an exposed or dedicated metrics port; see "
                     "monitoring.allowFrom).",
    "secrets": "Chart-managed Secrets by name (a DNS-1123 label, at most 40 characters); agents use their keys in "
               "env and envFrom.",
    "defaults": "Any agent field, deep-merged under every agent (the agent's own value wins).",
    "agents": "The agents by name (a DNS-1123 label, at most 40 characters); at least one.",
    "environments": "Environments by name: each writes values-<env>.yaml with its defaults and agents merged over "
                    "the spec's.",
    "dependencies": "Backing services from existing charts, by key (the subchart's alias and values key): "
                    "repository, chart, version, values, host, port.",
    "extraManifests": "Kubernetes objects rendered as they are, with the chart's labels.",
}


def json_schema() -> dict[str, Any]:
    from helmgen import __version__

    s = spec_type().schema()
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://helmgen.dev/schemas/agentgen-v1.schema.json",
        "title": f"helmgen agent spec v1 (helmgen {__version__})",
        **s,
        "definitions": {"agent": _sub_fields_described(agent_type(()).schema()),
                        "agentOverrides": Overrides().definition()},
    }


def _sub_fields_described(agent: dict[str, Any]) -> dict[str, Any]:
    """The agent's schema with a description on each sub-field values.yaml describes (`scaling.maxReplicas`):
    the same words, which hold for the spec where the two have the same shape."""
    from helmgen.chart.values import AGENT_SUB_DOCS

    for name, prop in agent["properties"].items():
        for obj in [prop, *prop.get("anyOf", [])]:
            for sub, s in obj.get("properties", {}).items():
                doc = AGENT_SUB_DOCS.get(f"agents.*.{name}.{sub}")
                if doc and "description" not in s:
                    s["description"] = " ".join(doc.split())
    return agent

