"""The ServiceAccount and the RBAC rules bound to it."""

from __future__ import annotations

from typing import Any, NamedTuple

from helmgen.spec.aspects import Checker


class Identity(NamedTuple):
    serviceAccount: dict[str, Any]
    rbac: dict[str, Any] | None


def check_identity(chk: Checker, a: dict[str, Any]) -> Identity:
    sa = {"create": True, "name": "", "annotations": {}, **a.get("serviceAccount", {})}
    rbac = a.get("rbac")
    if rbac and not sa["create"] and not sa["name"]:
        chk.err("rbac", "needs a ServiceAccount to bind to", "leave serviceAccount.create true or give a name")
    return Identity(sa, rbac)
