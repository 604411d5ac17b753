"""Administration -> Logs -> SMS and Email: filters, and a row's details."""

from services.campaign.console.screens import Screen


def _logs(channel: str, title: str) -> Screen:
    return Screen(
        name=f"logs_{channel}",
        path=f"/logs/{channel}",
        menu="Logs",
        title=title,
        needs=("GET", f"/logs/{channel}"),
        view="logs",
        data={"channel": channel},
    )


SMS = _logs("sms", "SMS")
EMAIL = _logs("email", "Email")
