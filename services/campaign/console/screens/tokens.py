"""Tokens (admin): create with a role and partner (the secret shown once), list, revoke."""

from services.campaign.console.screens import Screen

SCREEN = Screen(
    name="tokens",
    path="/tokens",
    menu="Config",
    title="Tokens",
    needs=("GET", "/tokens"),
)
