"""Every screen, in menu order: add a new screen's module here."""

from __future__ import annotations

from services.campaign.console.screens import (
    Screen,
    campaign,
    config,
    create,
    directory,
    history,
    logs,
    tokens,
)

SCREENS: tuple[Screen, ...] = (
    create.SCREEN,
    history.SCREEN,
    campaign.SCREEN,
    logs.SMS,
    logs.EMAIL,
    config.SMS,
    config.EMAIL,
    tokens.SCREEN,
    directory.SCREEN,
)
