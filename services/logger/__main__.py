"""``python -m services.logger``: writes outcome events into Postgres."""

from services.logger.app import main
from shared.service import run

run("logger", main)
