"""The only module that touches the output folder. Writing is atomic: the chart is built in
a temporary sibling folder and swapped in by rename, so a failure leaves the previous chart
exactly as it was."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


class TargetExists(Exception):
    pass


def write_chart(files: dict[str, bytes], target: Path, force: bool) -> None:
    target = Path(target)
    if target.exists() and not force and (not target.is_dir() or any(target.iterdir())):
        raise TargetExists(f"{target} already exists (use --force to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.helmgen-", dir=target.parent))
    try:
        for rel, data in files.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.helmgen-old-{os.getpid()}"
            os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            if old is not None:
                os.rename(old, target)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
