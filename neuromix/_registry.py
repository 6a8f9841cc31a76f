"""A small registry of named parts (methods, likelihoods, architectures).

A :class:`Registry` maps names to classes or factories. Parts add themselves with the
:meth:`Registry.register` decorator where they are defined, and callers build them by
name with :meth:`Registry.get`. The allowed names are whatever is registered when they
are asked for (:meth:`Registry.available`), so a part registered later, by a user, is
accepted everywhere. This module imports nothing from neuromix: it is the bottom layer.

Examples
--------
>>> shapes = Registry("shape")
>>> @shapes.register
... class Square:
...     name = "square"
...     def __init__(self, side=1.0):
...         self.side = side
>>> @shapes.register(name="disc")
... def make_disc(radius=1.0):
...     return ("disc", radius)
>>> shapes.available()
('square', 'disc')
>>> shapes.get("square", side=2.0).side
2.0
>>> shapes.get("cube")
Traceback (most recent call last):
...
ValueError: unknown shape 'cube'; available: square, disc
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["Registry"]

T = TypeVar("T", bound=Callable[..., Any])


class Registry:
    """Names -> classes or factories of one ``kind`` of part, in registration order.

    Parameters
    ----------
    kind : str
        What the parts are (``"method"``, ``"likelihood"``...), used in messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Callable[..., Any]] = {}

    def register(self, obj: T | None = None, *, name: str | None = None) -> Any:
        """Add ``obj`` under ``name`` (default: its ``name`` attribute); returns ``obj``.

        Usable as ``@registry.register``, ``@registry.register(name=...)`` or a plain
        call. A name that is empty or already taken raises a ValueError.
        """
        if obj is None:
            return lambda o: self.register(o, name=name)
        key = name if name is not None else getattr(obj, "name", None)
        if not isinstance(key, str) or not key:
            raise ValueError(f"a {self.kind} needs a non-empty string name, got {key!r}")
        if key in self._entries:
            raise ValueError(f"{self.kind} name {key!r} is already registered")
        self._entries[key] = obj
        return obj

    def unregister(self, name: str) -> Callable[..., Any]:
        """Remove ``name`` and return what was registered under it."""
        self._check(name)
        return self._entries.pop(name)

    def lookup(self, name: str) -> Callable[..., Any]:
        """The class or factory registered under ``name`` (not called)."""
        self._check(name)
        return self._entries[name]

    def get(self, name: str, **options: Any) -> Any:
        """A new part: the class or factory under ``name`` called with ``options``."""
        return self.lookup(name)(**options)

    def available(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._entries)

    def _check(self, name: Any) -> None:
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(
                f"unknown {self.kind} {name!r}; available: {', '.join(self._entries)}"
            )

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
