"""The console's screens, in menu order (one module each; see ../README.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Screen:
    """One page of the console.

    ``needs`` is the API route the page is built on: whoever may call it (``access.RULES``)
    may open the page, and nobody else sees it in the menu.
    """

    name: str  # the template (``templates/<name>.html``) and script (``static/<name>.js``)
    path: str
    menu: str  # the menu group, e.g. "Mass sending"
    title: str  # its entry in the group, e.g. "Create"
    needs: tuple[str, str]
    in_menu: bool = True
