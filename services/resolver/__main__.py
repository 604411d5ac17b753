"""``python -m services.resolver``: expands campaigns into per-recipient jobs."""

from services.resolver.app import main
from shared.service import run

run("resolver", main)
