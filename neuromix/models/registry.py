"""The registry of aggregation/prior methods, chosen by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neuromix.models.methods.base import Method

__all__ = ["available", "get_method", "register"]

_METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator adding a method to the registry under ``cls.name``."""
    if not cls.name or cls.name in _METHODS:
        raise ValueError(f"method name {cls.name!r} is empty or already registered")
    _METHODS[cls.name] = cls
    return cls


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators, in the paper's order.
    from neuromix.models.methods import avg, independent, mmvm, moe, mopoe, poe  # noqa: F401


def available() -> tuple[str, ...]:
    """Names of the registered methods.

    Examples
    --------
    >>> import neuromix as nm
    >>> nm.models.available()
    ('independent', 'avg', 'poe', 'moe', 'mopoe', 'mmvm')
    """
    _load_builtin()
    order = ("independent", "avg", "poe", "moe", "mopoe", "mmvm")
    return tuple(sorted(_METHODS, key=lambda n: (order.index(n) if n in order else 99, n)))


def get_method(method: str | Method, **options) -> Method:
    """A method object from its name (and options), or the object itself.

    Examples
    --------
    >>> get_method("mmvm", estimator="mc")
    MMVM(estimator='mc', n_samples=1, alpha=0.0, anneal_epochs=0)
    """
    from neuromix.models.methods.base import Method

    if isinstance(method, Method):
        if options:
            raise ValueError("method options can only be given with a method name")
        return method
    _load_builtin()
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(available())}")
    try:
        return _METHODS[method](**options)
    except TypeError as err:
        raise ValueError(f"method {method!r}: invalid options {sorted(options)}: {err}") from None
