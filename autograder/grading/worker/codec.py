"""Plain data across the sandbox's pipes: a small tagged binary format, in frames.

Both sides use it. The grader sends cases and answers calls; the worker sends what the
learner's code did. The grader reads the worker's bytes as untrusted: a frame is at most
``MAX_FRAME`` bytes, every value costs at least one byte of it (so a frame cannot unfold into
more objects than it has bytes), nesting is at most ``MAX_DEPTH`` deep, arrays have a
numeric dtype and exactly the bytes their shape needs, and nothing is called while decoding.

Values: None, bool, int, float, complex, str, bytes, list, tuple, dict (str or int keys),
NumPy arrays of numbers or bools, :class:`Opaque` (an object that cannot travel, by its
description) and :class:`Handle` (a function that stays with the grader: the worker calls it
through the grader). :func:`to_plain` reduces any learner object to these, never raising.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from .describe import Opaque, describe_type, shape

__all__ = ["MAX_FRAME", "CodecError", "Handle", "Remote", "decode", "encode", "frame",
           "read_frame", "to_plain"]

MAX_FRAME = 64 * 2**20  # bytes of one frame
MAX_DEPTH = 32
MAX_INT_DIGITS = 4300  # Python's own limit for int <-> str
#: Array data carried in one result; a bigger result is only described.
MAX_CARRIED_BYTES = 16 * 2**20
_HEADER = struct.Struct("!I")
_LENGTH = struct.Struct("!I")
_INT = struct.Struct("!q")
_FLOAT = struct.Struct("!d")
_DIMS = 32  # most dimensions of an array


class CodecError(ValueError):
    """Bytes that are not a value of this format (or break one of its bounds)."""


@dataclass(frozen=True)
class Handle:
    """A function that stays on the grader's side; ``name`` is for messages."""

    id: int
    name: str


class Remote:
    """A function that runs on the grader's side: calling it asks the grader (``call``)."""

    def __init__(self, handle: Handle, call: Callable[[Handle, tuple, dict], Any]) -> None:
        self.handle = handle
        self._call = call
        self.__name__ = self.__qualname__ = handle.name.rpartition(".")[2] or "function"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.handle, args, kwargs)

    def __repr__(self) -> str:
        return f"<{self.handle.name}, run by the grader>"


# ---------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------


def encode(value: Any) -> bytes:
    """The bytes of ``value``; ``TypeError`` for anything that is not plain data."""
    out: list[bytes] = []
    _encode(value, out, 0)
    return b"".join(out)


def _text(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    return _LENGTH.pack(len(data)) + data


def _encode(value: Any, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TypeError("a value nested too deeply")
    kind = type(value)
    if value is None:
        out.append(b"N")
    elif kind is bool:
        out.append(b"T" if value else b"F")
    elif kind is int:
        if -(2**63) <= value < 2**63:
            out.append(b"i" + _INT.pack(value))
        else:
            out.append(b"I" + _text(str(value)))
    elif kind is float:
        out.append(b"f" + _FLOAT.pack(value))
    elif kind is complex:
        out.append(b"c" + _FLOAT.pack(value.real) + _FLOAT.pack(value.imag))
    elif kind is str:
        out.append(b"s" + _text(value))
    elif kind is bytes:
        out.append(b"y" + _LENGTH.pack(len(value)) + value)
    elif kind in (list, tuple):
        out.append((b"l" if kind is list else b"t") + _LENGTH.pack(len(value)))
        for item in value:
            _encode(item, out, depth + 1)
    elif kind is dict:
        out.append(b"d" + _LENGTH.pack(len(value)))
        for key, item in value.items():
            if type(key) not in (str, int):
                raise TypeError(f"a dict key must be a str or an int, not {type(key).__name__}")
            _encode(key, out, depth + 1)
            _encode(item, out, depth + 1)
    elif kind is np.ndarray:
        _encode_array(value, out)
    elif isinstance(value, np.generic) and kind.__module__ == "numpy":
        out.append(b"g")  # a NumPy scalar: a 0-d array read back as its scalar
        _encode_array(np.asarray(value), out)
    elif kind is Opaque:
        out.append(b"o" + _text(value.description) + (b"T" if value.is_callable else b"F"))
    elif kind is Handle:
        out.append(b"h" + _INT.pack(value.id) + _text(value.name))
    else:
        raise TypeError(f"{kind.__name__} is not plain data")


def _encode_array(a: np.ndarray, out: list[bytes]) -> None:
    if a.dtype.kind not in "biufc" or a.ndim > _DIMS:
        raise TypeError(f"an array of dtype {a.dtype} is not plain data")
    dtype = a.dtype.str.encode("ascii")
    data = np.ascontiguousarray(a).tobytes()
    out.append(b"a" + bytes([len(dtype)]) + dtype + bytes([a.ndim])
               + b"".join(_INT.pack(d) for d in a.shape) + _INT.pack(len(data)) + data)


# ---------------------------------------------------------------------------------------
# Decoding (bounded; the worker's bytes are untrusted)
# ---------------------------------------------------------------------------------------


def decode(data: bytes) -> Any:
    """The value of ``data``; ``CodecError`` when it is not exactly one valid value."""
    view = memoryview(data)
    value, end = _decode(view, 0, 0)
    if end != len(view):
        raise CodecError(f"{len(view) - end} bytes after the value")
    return value


def _take(view: memoryview, at: int, n: int) -> tuple[memoryview, int]:
    if n < 0 or at + n > len(view):
        raise CodecError("the value is cut short")
    return view[at:at + n], at + n


def _unpack(fmt: struct.Struct, view: memoryview, at: int) -> tuple[Any, int]:
    part, at = _take(view, at, fmt.size)
    return fmt.unpack(part)[0], at


def _decode_text(view: memoryview, at: int) -> tuple[str, int]:
    n, at = _unpack(_LENGTH, view, at)
    part, at = _take(view, at, n)
    try:
        return bytes(part).decode("utf-8", "surrogatepass"), at
    except UnicodeDecodeError as error:
        raise CodecError("a string that is not UTF-8") from error


def _count(view: memoryview, at: int, per_item: int) -> tuple[int, int]:
    n, at = _unpack(_LENGTH, view, at)
    if n * per_item > len(view) - at:  # every item costs at least one byte
        raise CodecError("more items than bytes")
    return n, at


def _decode(view: memoryview, at: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise CodecError("a value nested too deeply")
    tag, at = _take(view, at, 1)
    tag = bytes(tag)
    if tag == b"N":
        return None, at
    if tag in (b"T", b"F"):
        return tag == b"T", at
    if tag == b"i":
        return _unpack(_INT, view, at)
    if tag == b"I":
        text, at = _decode_text(view, at)
        if len(text) > MAX_INT_DIGITS or not text.lstrip("-").isdigit():
            raise CodecError("an integer that is not a number of at most 4300 digits")
        return int(text), at
    if tag == b"f":
        return _unpack(_FLOAT, view, at)
    if tag == b"c":
        real, at = _unpack(_FLOAT, view, at)
        imag, at = _unpack(_FLOAT, view, at)
        return complex(real, imag), at
    if tag == b"s":
        return _decode_text(view, at)
    if tag == b"y":
        n, at = _unpack(_LENGTH, view, at)
        part, at = _take(view, at, n)
        return bytes(part), at
    if tag in (b"l", b"t"):
        n, at = _count(view, at, 1)
        items = []
        for _ in range(n):
            item, at = _decode(view, at, depth + 1)
            items.append(item)
        return (items if tag == b"l" else tuple(items)), at
    if tag == b"d":
        n, at = _count(view, at, 2)
        result = {}
        for _ in range(n):
            key, at = _decode(view, at, depth + 1)
            if type(key) not in (str, int):
                raise CodecError("a dict key that is not a str or an int")
            result[key], at = _decode(view, at, depth + 1)
        return result, at
    if tag == b"a":
        return _decode_array(view, at)
    if tag == b"g":
        tag, at = _take(view, at, 1)
        array, at = _decode_array(view, at) if bytes(tag) == b"a" else (None, at)
        if array is None or array.ndim != 0:
            raise CodecError("a NumPy scalar that is not a 0-d array")
        return array[()], at
    if tag == b"o":
        description, at = _decode_text(view, at)
        flag, at = _decode(view, at, MAX_DEPTH)
        return Opaque(description[:500], is_callable=flag is True), at
    if tag == b"h":
        number, at = _unpack(_INT, view, at)
        name, at = _decode_text(view, at)
        return Handle(number, name[:200]), at
    raise CodecError(f"an unknown tag {tag!r}")


def _decode_array(view: memoryview, at: int) -> tuple[np.ndarray, int]:
    n, at = _unpack(struct.Struct("!B"), view, at)
    dtype_text, at = _take(view, at, n)
    try:
        dtype = np.dtype(bytes(dtype_text).decode("ascii"))
    except (TypeError, ValueError, UnicodeDecodeError) as error:
        raise CodecError("an array with an unknown dtype") from error
    if dtype.kind not in "biufc" or dtype.itemsize > 16 or dtype.fields is not None:
        raise CodecError(f"an array of dtype {dtype}, which is not numeric")
    ndim, at = _unpack(struct.Struct("!B"), view, at)
    if ndim > _DIMS:
        raise CodecError("an array with too many dimensions")
    dims = []
    for _ in range(ndim):
        d, at = _unpack(_INT, view, at)
        if d < 0:
            raise CodecError("an array with a negative dimension")
        dims.append(d)
    nbytes, at = _unpack(_INT, view, at)
    size = 1
    for d in dims:
        size *= d
    if nbytes != size * dtype.itemsize:
        raise CodecError("an array whose data does not fit its shape")
    data, at = _take(view, at, nbytes)
    return np.frombuffer(data, dtype=dtype).reshape(dims).copy(), at


# ---------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------


def frame(value: Any) -> bytes:
    """``value`` encoded, behind its length."""
    body = encode(value)
    if len(body) > MAX_FRAME:
        raise CodecError(f"a frame of {len(body)} bytes, more than {MAX_FRAME}")
    return _HEADER.pack(len(body)) + body


def read_frame(stream: BinaryIO) -> Any:
    """The next frame's value from a blocking stream; ``EOFError`` at its end."""
    header = _read_exactly(stream, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise CodecError(f"a frame of {size} bytes, more than {MAX_FRAME}")
    return decode(_read_exactly(stream, size))


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the stream ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def header_size() -> int:
    return _HEADER.size


def frame_size(header: bytes) -> int:
    return _HEADER.unpack(header)[0]


# ---------------------------------------------------------------------------------------
# Reducing the learner's objects to plain data
# ---------------------------------------------------------------------------------------


class _Budget:
    def __init__(self, left: int) -> None:
        self.left = left


def to_plain(value: Any, budget: _Budget | None = None, depth: int = 0) -> Any:
    """``value`` as plain data: subclasses of built-ins become the built-ins, arrays become
    base-class copies, anything else an :class:`Opaque` description. Never raises."""
    budget = budget if budget is not None else _Budget(MAX_CARRIED_BYTES)
    try:
        return _plain(value, budget, depth)
    except Exception as exc:  # a learner's object whose __len__ or keys() raise
        return Opaque(f"an object that could not be read ({type(exc).__name__})")


def new_budget(nbytes: int = MAX_CARRIED_BYTES) -> _Budget:
    return _Budget(nbytes)


def _plain(value: Any, budget: _Budget, depth: int) -> Any:
    if type(value) is Remote:
        return value.handle
    if value is None or type(value) in (bool, int, float, complex, str, Handle):
        if type(value) is str and len(value) > 10_000:
            return value[:10_000]
        return value
    if depth > 8:
        return Opaque("a structure nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return Opaque(describe_type(np.asarray(value)))
        budget.left -= value.nbytes
        if budget.left < 0:
            return Opaque(f"an ndarray of shape {shape(value.shape)} too large to grade")
        return np.array(value, copy=True, subok=False)
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufc":
            return Opaque(describe_type(value))
        return np.asarray(value)[()].dtype.type(value)  # the scalar, never a subclass
    for base in (bool, int, float, complex, str):
        if isinstance(value, base):  # a subclass of a built-in number or str
            return _plain(base(value), budget, depth)
    if isinstance(value, tuple | list):
        if len(value) > 10_000:
            return Opaque(f"a {type(value).__name__} of {len(value)} items, too long to grade")
        items = [_plain(v, budget, depth + 1) for v in list(value)]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        keys = list(value)
        if len(keys) > 10_000 or not all(type(k) in (str, int) for k in keys):
            return Opaque(describe_type(value))
        return {k: _plain(dict.__getitem__(value, k), budget, depth + 1) for k in keys}
    return Opaque(describe_type(value), is_callable=callable(value))
