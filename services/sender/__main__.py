"""``python -m services.sender``: sends jobs through the gateways; run as many as you like."""

from services.sender.app import main
from shared.service import run

run("sender", main)
