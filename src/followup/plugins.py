"""Exporter discovery through the entry-point group `followup.exporters`.

Built-in exporters are found exactly like third-party ones. A plugin that fails to
import becomes a warning; the others keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from followup.errors import UserError
from followup.exporter import Exporter

GROUP = "followup.exporters"


@dataclass(frozen=True)
class Plugin:
    name: str
    entry_point: EntryPoint

    @property
    def origin(self) -> str:
        dist = self.entry_point.dist
        where = f"{dist.name} {dist.version}" if dist else "unknown distribution"
        return f"{where} ({self.entry_point.value})"

    def load(self) -> type[Exporter]:
        """Import the exporter class; a missing optional dependency says how to install it."""
        loaded = self.entry_point.load()
        if not (isinstance(loaded, type) and issubclass(loaded, Exporter)):
            raise TypeError(f"{self.entry_point.value} is not an Exporter subclass")
        return loaded


def discover() -> dict[str, Plugin]:
    """Every registered exporter by name; nothing is imported yet."""
    return {ep.name: Plugin(ep.name, ep) for ep in entry_points(group=GROUP)}


def check_names(names: Iterable[str], field: str = "--to") -> None:
    """Exit 2 on the first name that is not an installed exporter, with the nearest one."""
    from followup.answers import did_you_mean

    plugins = discover()
    for name in names:
        if name not in plugins:
            known = ", ".join(sorted(plugins)) or "none"
            raise UserError(
                f"{field}: no exporter named {name!r}{did_you_mean(name, plugins)} "
                f"(installed: {known})"
            )


def load_exporter(name: str) -> type[Exporter]:
    check_names([name])
    return discover()[name].load()
