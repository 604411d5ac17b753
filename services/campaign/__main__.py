"""``python -m services.campaign``: the HTTP API."""

from services.campaign.app import main
from shared.service import run

run("campaign", main)
