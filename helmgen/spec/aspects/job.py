"""The Job or CronJob settings of an agent that runs to completion."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import LONG_RUNNING, Checker, kind_of

CRON_ONLY = ("concurrencyPolicy", "timeZone", "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
             "startingDeadlineSeconds", "suspend")


def check_job(chk: Checker, a: dict[str, Any]) -> dict[str, Any]:
    kind = kind_of(a)
    cron_only = [k for k in a.get("job", {}) if k in CRON_ONLY]
    if kind == "Job" and cron_only:
        chk.err(f"job.{cron_only[0]}", "applies to a CronJob, not to a Job")
    if kind in LONG_RUNNING:
        return {}
    job = {"backoffLimit": 3, **a.get("job", {})}
    if kind == "CronJob":
        job.setdefault("concurrencyPolicy", "Forbid")
    return job


def check_schedule(chk: Checker, a: dict[str, Any]) -> str:
    schedule: str = a.get("schedule", "")
    return schedule
