"""Every screen, in menu order: add a new screen's module here."""

from __future__ import annotations

from services.campaign.console.screens import Screen, campaign, create, history

SCREENS: tuple[Screen, ...] = (create.SCREEN, history.SCREEN, campaign.SCREEN)
