"""Administration -> Logs -> SMS and Email: filters, and a row's details."""

from services.campaign.console.screens import Screen

SMS = Screen(
    name="logs_sms",
    path="/logs/sms",
    menu="Logs",
    title="SMS",
    needs=("GET", "/logs/sms"),
    view="logs",
    data={"channel": "sms"},
)
EMAIL = Screen(
    name="logs_email",
    path="/logs/email",
    menu="Logs",
    title="Email",
    needs=("GET", "/logs/email"),
    view="logs",
    data={"channel": "email"},
)
