"""``python -m services.campaign``: the HTTP API."""

from services.campaign.http.app import main
from shared.service import run

run("campaign", main)
