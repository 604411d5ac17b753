"""One campaign: live progress, rate, errors, Pause/Resume/Cancel, recipients."""

from services.campaign.console.screens import Screen
from shared import vocabulary

SCREEN = Screen(
    name="campaign",
    path="/mass-sending/campaigns/{id:[0-9]+}",
    menu="Mass sending",
    title="Campaign",
    needs=("GET", "/campaigns/{id}"),
    in_menu=False,
    data={
        "statuses": vocabulary.MESSAGE_STATUSES,
        "final": vocabulary.FINAL,
        "finished": vocabulary.FINISHED,
    },
)
