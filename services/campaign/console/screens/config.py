"""Config -> SMS (gateway presets, test, pause) and Config -> Email."""

from services.campaign.console.screens import Screen
from shared.models import BULKSMS_EAPI_PAYLOAD, BULKSMS_EAPI_URL

# Starting points the operator completes with the account's credentials.
PRESETS = {
    "BulkSMS EAPI": {
        "url": BULKSMS_EAPI_URL,
        "method": "POST",
        "content_type": "form",
        "payload": BULKSMS_EAPI_PAYLOAD,
        "headers": {},
        "success_text": "0|IN_PROGRESS|",
    },
    "BulkSMS JSON": {
        "url": "https://api.bulksms.com/v1/messages",
        "method": "POST",
        "content_type": "json",
        "payload": '{"to": "%TO%", "body": "%MESSAGE%"}',
        "headers": {"Authorization": "Basic <base64 of token id:secret>"},
        "success_text": "",
    },
    "Clickatell": {
        "url": "https://platform.clickatell.com/v1/message",
        "method": "POST",
        "content_type": "json",
        "payload": '{"messages": [{"channel": "sms", "to": "%TO_DIGITS%",'
        ' "content": "%MESSAGE%"}]}',
        "headers": {"Authorization": "<API key>"},
        "success_text": "",
    },
    "Twilio": {
        "url": "https://api.twilio.com/2010-04-01/Accounts/<Account SID>/Messages.json",
        "method": "POST",
        "content_type": "form",
        "payload": "To=%TO%&From=<your Twilio number>&Body=%MESSAGE%",
        "headers": {"Authorization": "Basic <base64 of Account SID:Auth token>"},
        "success_text": "",
    },
}

SMS = Screen(
    name="config_sms",
    path="/config/sms",
    menu="Config",
    title="SMS",
    needs=("GET", "/config/sms"),
    data={"presets": PRESETS},
)
EMAIL = Screen(
    name="config_email",
    path="/config/email",
    menu="Config",
    title="Email",
    needs=("GET", "/config/email"),
)
