"""Directory: customers and leads, searchable, read-only."""

from services.campaign.console.screens import Screen

SCREEN = Screen(
    name="directory",
    path="/directory",
    menu="Directory",
    title="Customers and leads",
    needs=("GET", "/customers"),
)
