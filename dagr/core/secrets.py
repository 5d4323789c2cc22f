"""The embedded installation's secret keys, generated once and kept in var/ (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def local_secret_key(var_dir: Path, name: str = "secret_key") -> str:
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()
