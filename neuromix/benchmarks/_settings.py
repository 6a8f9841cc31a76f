"""What the benchmarks share: named settings, and output folders of one setting each."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping
from pathlib import Path

__all__ = ["check_setting_folder", "resolve_setting"]


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


def check_setting_folder(out: Path, current: Mapping, *, ignore: Collection[str] = ()) -> Path:
    """Refuse a folder whose runs were made with another setting; return its
    ``setting.json`` (which may not exist yet).

    The setting stored in ``out/setting.json``, if any, must equal ``current`` (a
    setting's plain data) in every field but ``ignore``, else ValueError naming the
    fields that differ.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> _ = (out / "setting.json").write_text('{"name": "quick", "epochs": 1}')
    >>> check_setting_folder(out, {"name": "mine", "epochs": 1}, ignore=("name",)).name
    'setting.json'
    >>> check_setting_folder(out, {"name": "quick", "epochs": 2})
    Traceback (most recent call last):
    ...
    ValueError: ... (differing: epochs); use another output folder or remove it
    """
    path = out / "setting.json"
    if path.exists():
        stored = json.loads(path.read_text())
        old = {k: v for k, v in stored.items() if k not in ignore}
        new = {k: v for k, v in current.items() if k not in ignore}
        if old != new:
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise ValueError(
                f"{out} holds runs of another setting (differing: {', '.join(changed)}); "
                "use another output folder or remove it"
            )
    return path
