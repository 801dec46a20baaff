"""Reading a ``torch.save`` checkpoint one tensor at a time, for converting models larger than memory.

``torch.load`` materialises every tensor at once (this PyTorch has no ``mmap=True``), so a 3B checkpoint in
bfloat16 costs 6.2 GB before anything is converted. A checkpoint written by ``torch.save`` (the zip format,
the default since PyTorch 1.6) is a pickle (``*/data.pkl``) that names its storages, plus one uncompressed
zip member per storage (``*/data/<key>``). Here the pickle is read with tensors replaced by ``LazyTensor``
records (storage key, dtype, offset, shape, stride), and each tensor's bytes are read from its member only
when asked for, into memory the caller owns and frees. Nothing is memory-mapped: mapped pages of a file count
in the process's resident set for as long as the mapping lives, which is what a streaming conversion avoids.
"""
from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from typing import Any, Tuple

from .official_checkpoint import ConversionError, _framework_stubs


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: Any  # torch.dtype
    numel: int


@dataclass(frozen=True)
class LazyTensor:
    """A tensor in a checkpoint file, not yet read. ``load()`` reads it (a fresh tensor each call)."""

    path: str
    member: str
    storage: _StorageRef
    offset: int
    shape: Tuple[int, ...]
    stride: Tuple[int, ...]

    @property
    def dtype(self):
        return self.storage.dtype

    def is_floating_point(self) -> bool:
        return self.storage.dtype.is_floating_point

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def same_data(self, other: "LazyTensor") -> bool:
        """True when both views read the same bytes (a tied weight saved once under two names)."""
        return (isinstance(other, LazyTensor) and self.path == other.path and self.storage.key == other.storage.key
                and self.offset == other.offset and self.shape == other.shape and self.stride == other.stride)

    def load(self):
        import torch

        item = torch.tensor([], dtype=self.storage.dtype).element_size()
        raw = torch.empty(self.storage.numel * item, dtype=torch.uint8)
        with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as fh:
            view = memoryview(raw.numpy())
            got = 0
            while got < len(view):
                n = fh.readinto(view[got:])
                if not n:
                    raise ConversionError(f"{self.path}: storage {self.storage.key} ends after {got} of {len(view)} bytes")
                got += n
        storage = raw.view(self.storage.dtype)
        return storage.as_strided(self.shape, self.stride, self.offset)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, _StorageRef):
        raise ConversionError("unexpected tensor storage in the checkpoint")
    return (storage, int(storage_offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *rest):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh, path: str, prefix: str) -> None:
        super().__init__(fh)
        self._path, self._prefix = path, prefix

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return self._tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch._utils" and name.startswith("_rebuild"):
            raise ConversionError(f"the checkpoint holds a tensor kind this reader does not handle ({name})")
        return super().find_class(module, name)

    def _tensor(self, *args):
        storage, offset, shape, stride = _rebuild_tensor_v2(*args)
        return LazyTensor(self._path, f"{self._prefix}data/{storage.key}", storage, offset, shape, stride)

    def persistent_load(self, pid):
        # ('storage', storage class, key, location, numel), as torch.save writes it.
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise ConversionError(f"unexpected persistent id in the checkpoint: {pid!r}")
        _, storage_type, key, _location, numel = pid
        dtype = getattr(storage_type, "dtype", None)
        if dtype is None:
            raise ConversionError(f"unknown storage type {storage_type!r} in the checkpoint")
        return _StorageRef(str(key), dtype, int(numel))


def lazy_load(path: str):
    """The object ``torch.load(path)`` would return, with every tensor a ``LazyTensor``. Raises
    ConversionError for files that are not zip-format ``torch.save`` checkpoints (the caller falls back)."""
    if not zipfile.is_zipfile(path):
        raise ConversionError(f"{path} is not a zip-format torch.save file")
    with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise ConversionError(f"{path} has no single */data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        names = set(zf.namelist())
        with zf.open(pkl[0]) as fh, _framework_stubs():
            try:
                obj = _Unpickler(fh, path, prefix).load()
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
                raise ConversionError(f"cannot read {path}: {exc}") from exc
    _check_members(obj, names, path)
    return obj


def _check_members(obj, names, path) -> None:
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, LazyTensor):
            if o.member not in names:
                raise ConversionError(f"{path}: storage {o.storage.key} is missing from the archive")
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
