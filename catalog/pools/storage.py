"""Where evidence documents keep their bytes: a small protocol and a local-directory store.

The database holds what a document is and who may read it; the store holds only bytes under a
generated name, so nothing the uploader typed (file name, path, extension) reaches the file
system. The default store is a directory outside the web root; another backend (an object
store, say) implements the same three methods and is put on ``app.state.evidence_storage``.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from fastapi import Request

from core.settings import Settings

# 32 hex digits of a random UUID and one of the extensions we accept: the only names the
# store ever reads or writes, so a key can never climb out of the directory.
_KEY = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png)$")
# The packages of this code base, one of which serves /static: uploads must never land there.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("catalog", "core", "market", "matching", "search", "migrations")


class StorageError(RuntimeError):
    """The store cannot be used as configured."""


class EvidenceStorage(Protocol):
    def save(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...


def new_key(extension: str) -> str:
    """A fresh, unguessable storage name with the extension of the detected file type."""
    key = f"{uuid.uuid4().hex}.{extension}"
    _check_key(key)
    return key


def _check_key(key: str) -> None:
    if _KEY.fullmatch(key) is None:
        raise ValueError(f"not a storage key: {key!r}")


class LocalDirectoryStorage:
    """Files in a directory tree, two hex characters per sub-directory to keep listings short."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        for package in _PACKAGES:
            if self.root.is_relative_to(_SOURCE_ROOT / package):
                raise StorageError(
                    f"upload_dir {self.root} lies inside the application package {package}, "
                    "which may be served to the web; choose a directory outside the code, "
                    "e.g. ./var/uploads"
                )
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key[:2] / key

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written under a temporary name and renamed, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


@functools.cache
def _local(root: str) -> LocalDirectoryStorage:
    return LocalDirectoryStorage(root)


def storage_for(request: Request, settings: Settings) -> EvidenceStorage:
    """The app's configured store, or the local directory named by ``upload_dir``."""
    configured: EvidenceStorage | None = getattr(request.app.state, "evidence_storage", None)
    if configured is not None:
        return configured
    return _local(settings.upload_dir)
