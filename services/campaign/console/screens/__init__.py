"""The console's screens, in menu order (one module each; see ../README.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Screen:
    """One page of the console.

    ``needs`` is the API route the page is built on: whoever may call it (its declaration's rule)
    may open the page, and nobody else sees it in the menu.
    """

    name: str  # unique; also the template and script unless ``view`` names them
    path: str
    menu: str  # the menu group, e.g. "Mass sending"
    title: str  # its entry in the group, e.g. "Create"
    needs: tuple[str, str]
    in_menu: bool = True
    view: str = ""  # ``templates/<view>.html`` and ``static/<view>.js``; default: ``name``
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON for the script (#screen-data)

    @property
    def template(self) -> str:
        return f"{self.view or self.name}.html"
