"""Mass sending -> Create: filters, message, preview, send, send as test."""

from services.campaign.console.screens import Screen

SCREEN = Screen(
    name="create",
    path="/mass-sending/create",
    menu="Mass sending",
    title="Create",
    needs=("POST", "/campaigns/preview"),
)
