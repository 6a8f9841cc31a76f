"""What the benchmarks share: named settings (their folders are checked by
:func:`neuromix.evaluation.sweep.record_setting`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["resolve_setting"]


def resolve_setting(setting, settings: Mapping, cls: type, overrides: dict):
    """``settings[setting]`` (or ``setting`` itself, an instance of ``cls``) with fields
    replaced by ``overrides``; a modified setting is renamed ``"<name> (modified)"``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class S:
    ...     name: str
    ...     epochs: int
    >>> resolve_setting("quick", {"quick": S("quick", 2)}, S, {"epochs": 5})
    S(name='quick (modified)', epochs=5)
    """
    if isinstance(setting, cls):
        base = setting
    elif isinstance(setting, str) and setting in settings:
        base = settings[setting]
    else:
        raise ValueError(f"unknown setting {setting!r}; choose from {', '.join(settings)}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"unknown setting fields {unknown}; fields: {', '.join(sorted(names))}")
    if overrides and "name" not in overrides:
        overrides = {**overrides, "name": f"{base.name} (modified)"}
    return dataclasses.replace(base, **overrides)
