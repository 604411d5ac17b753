"""Mass sending -> History: campaigns with Status and Period filters, server-side paging."""

from services.campaign.console.screens import Screen

SCREEN = Screen(
    name="history",
    path="/mass-sending/history",
    menu="Mass sending",
    title="History",
    needs=("GET", "/campaigns"),
)
