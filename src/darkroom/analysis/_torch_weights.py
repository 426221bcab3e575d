"""A PyTorch `state_dict` file read without PyTorch: tensors as numpy arrays.

A `.pth` is a pickle, and unpickling runs whatever callables it names. The unpickler here
resolves only the few globals a state dict of plain tensors needs and refuses anything else,
so a weights file cannot run code. Both formats are read: the zip archive (PyTorch >= 1.6)
and the legacy stream of pickles followed by raw storages.
"""

from __future__ import annotations

import collections
import importlib
import pickle
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

from darkroom.errors import ConfigurationError

if TYPE_CHECKING:
    from numpy.typing import NDArray

# The storage classes a state dict names, by their element type; only markers, never called.
_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
}
_MAX_ELEMENTS = 1 << 31
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: str


@dataclass(frozen=True, slots=True)
class _Storage:
    key: str
    dtype: str
    numel: int

    @property
    def nbytes(self) -> int:
        return self.numel * int(self.dtype[-1])


@dataclass(frozen=True, slots=True)
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: _Storage,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    requires_grad: bool = False,
    backward_hooks: object = None,
    metadata: object = None,
) -> _TensorRef:
    # Storage bytes may come after the pickle (the legacy format), so tensors stay
    # references until every storage is read.
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor without a storage")
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


@dataclass
class _StateDictUnpickler(pickle.Unpickler):
    stream: IO[bytes]
    storages: dict[str, _Storage] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.stream)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"refused global {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("refused persistent id in a weights file")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType) or (len(pid) > 5 and pid[5] is not None):
            raise pickle.UnpicklingError("refused storage kind in a weights file")
        if not isinstance(numel, int) or not 0 <= numel <= _MAX_ELEMENTS:
            raise pickle.UnpicklingError("refused storage size in a weights file")
        return self.storages.setdefault(str(key), _Storage(str(key), storage_type.dtype, numel))


def read_state_dict(path: Path) -> dict[str, NDArray[Any]]:
    """The tensors of a PyTorch `state_dict` file (zip or legacy format), as numpy arrays.

    Needs numpy, which the caller's extra provides.
    """
    np = importlib.import_module("numpy")
    try:
        if zipfile.is_zipfile(path):
            refs, data = _read_zip(path)
        else:
            refs, data = _read_legacy(path)
        return {name: _materialise(np, ref, data) for name, ref in refs.items()}
    except (pickle.UnpicklingError, EOFError, ValueError, LookupError, TypeError) as exc:
        # A malformed pickle fails in many ways (a wrong arity, a frozen object it tries to
        # set state on); each means the file is not a state dict this reader accepts.
        raise ConfigurationError(f"Not a usable weights file: {path.name}: {exc}") from exc


def _read_zip(path: Path) -> tuple[dict[str, _TensorRef], dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise ValueError("no single data.pkl in the archive")
        prefix = pickles[0][: -len("data.pkl")]
        with archive.open(pickles[0]) as stream:
            unpickler = _StateDictUnpickler(stream)
            refs = _tensor_dict(unpickler.load())
        data = {
            key: _zip_storage(archive, f"{prefix}data/{key}", storage)
            for key, storage in unpickler.storages.items()
        }
    return refs, data


def _zip_storage(archive: zipfile.ZipFile, name: str, storage: _Storage) -> bytes:
    # Checked before reading: a compressed member could otherwise inflate without bound.
    if archive.getinfo(name).file_size != storage.nbytes:
        raise ValueError(f"storage {storage.key} has the wrong size")
    return archive.read(name)


def _read_legacy(path: Path) -> tuple[dict[str, _TensorRef], dict[str, bytes]]:
    with path.open("rb") as stream:
        if _StateDictUnpickler(stream).load() != _LEGACY_MAGIC:
            raise ValueError("not a PyTorch file")
        if _StateDictUnpickler(stream).load() != _LEGACY_PROTOCOL:
            raise ValueError("unknown PyTorch file protocol")
        system = _StateDictUnpickler(stream).load()
        if not isinstance(system, dict) or not system.get("little_endian"):
            raise ValueError("only little-endian weights are read")
        unpickler = _StateDictUnpickler(stream)
        refs = _tensor_dict(unpickler.load())
        keys = _StateDictUnpickler(stream).load()
        data = dict(_legacy_storages(stream, keys, unpickler.storages, path.stat().st_size))
    return refs, data


def _legacy_storages(
    stream: IO[bytes], keys: Any, storages: dict[str, _Storage], file_size: int
) -> Iterator[tuple[str, bytes]]:
    if not isinstance(keys, list) or set(keys) != set(storages):
        raise ValueError("storage list does not match the tensors")
    for key in keys:
        storage = storages[key]
        (numel,) = struct.unpack("<q", stream.read(8))
        # Compared before reading: a forged count would otherwise size the read.
        if numel != storage.numel or stream.tell() + storage.nbytes > file_size:
            raise ValueError(f"storage {key} is truncated")
        chunk = stream.read(storage.nbytes)
        yield key, chunk


def _tensor_dict(obj: Any) -> dict[str, _TensorRef]:
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, _TensorRef) for k, v in obj.items()
    ):
        raise ValueError("not a state dict of tensors")
    return dict(obj)


def _materialise(np: ModuleType, ref: _TensorRef, data: dict[str, bytes]) -> NDArray[Any]:
    flat = np.frombuffer(data[ref.storage.key], dtype=ref.storage.dtype)
    _check_layout(ref, int(flat.size))
    view = np.lib.stride_tricks.as_strided(
        flat[ref.offset :],
        shape=ref.shape,
        strides=[s * flat.itemsize for s in ref.stride],
        writeable=False,
    )
    result: NDArray[Any] = np.array(view, order="C")
    return result


def _check_layout(ref: _TensorRef, available: int) -> None:
    # as_strided trusts its arguments: a crafted file could otherwise read past the storage.
    if len(ref.shape) != len(ref.stride) or ref.offset < 0:
        raise ValueError("bad tensor layout")
    if any(n < 0 for n in ref.shape) or any(s < 0 for s in ref.stride):
        raise ValueError("bad tensor layout")
    if 0 in ref.shape:
        return
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True))
    if last >= available:
        raise ValueError("tensor reaches outside its storage")
