"""Directories that appear complete or not at all: written beside the target, renamed into place."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator, Sequence


@contextmanager
def atomic_directory(out: str, keep: Sequence[str] = ()) -> Iterator[str]:
    """Yields a temporary sibling of ``out`` to fill. On success it replaces ``out`` (carrying over the
    files named in ``keep`` from an existing ``out``); on any error it is removed and ``out`` is untouched."""
    out = os.path.abspath(out)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.partial-", dir=os.path.dirname(out))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if os.path.isdir(out):
            for name in keep:
                if os.path.exists(os.path.join(out, name)) and not os.path.exists(os.path.join(tmp, name)):
                    shutil.copy2(os.path.join(out, name), os.path.join(tmp, name))
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json_atomic(path: str, data) -> None:
    """Writes JSON beside ``path`` and renames it into place, so an interrupted run never leaves half a file."""
    import json

    with open(path + ".tmp", "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(path + ".tmp", path)
