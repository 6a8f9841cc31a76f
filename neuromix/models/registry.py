"""The registry of aggregation/prior methods, chosen by name.

A thin public face of :data:`neuromix.models.methods.base.METHODS` (a
:class:`neuromix._registry.Registry`); importing :mod:`neuromix.models.methods` fills it
with the built-in methods.
"""

from __future__ import annotations

from neuromix.models.methods import METHODS, Method

__all__ = ["available", "get_method", "register", "unregister"]


def register(cls: type[Method]) -> type[Method]:
    """Class decorator adding a method to the registry under ``cls.name``.

    The name is accepted everywhere a method name is (``MultimodalVAE(method=...)``,
    ``nm.fit(..., method=...)``) from then on.
    """
    return METHODS.register(cls)


def unregister(name: str) -> type[Method]:
    """Remove a registered method; returns its class."""
    return METHODS.unregister(name)


def available() -> tuple[str, ...]:
    """Names of the registered methods, in registration order.

    Examples
    --------
    >>> import neuromix as nm
    >>> nm.models.available()
    ('independent', 'avg', 'poe', 'moe', 'mopoe', 'mmvm')
    """
    return METHODS.available()


def get_method(method: str | Method, **options) -> Method:
    """A method object from its name (and options), or the object itself.

    Examples
    --------
    >>> get_method("mmvm", estimator="mc")
    MMVM(estimator='mc', n_draws=1, alpha=0.0, anneal_epochs=0)
    >>> get_method("nope")
    Traceback (most recent call last):
    ...
    ValueError: unknown method 'nope'; available: independent, avg, poe, moe, mopoe, mmvm
    """
    if isinstance(method, Method):
        if options:
            raise ValueError("method options can only be given with a method name")
        return method
    cls = METHODS.lookup(method)
    try:
        return cls(**options)
    except TypeError as err:
        raise ValueError(f"method {method!r}: invalid options {sorted(options)}: {err}") from None
