from typing import Any

import pytest

from shared.models import SmsConfig
from shared.secrets import MASK, SecretMoved, masked, origin, redact, secret_values, unmask

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"


def _config() -> dict[str, Any]:
    return SmsConfig(
        payload="username=ispco&password=S3cr%26t&message=%MESSAGE%&msisdn=%TO_DIGITS%",
        headers={"Authorization": "Bearer tok-123", "X-Trace": "on"},
    ).model_dump(mode="json")


def _everything() -> dict[str, Any]:
    # Secrets in every place a gateway puts them, none under a credential-like name.
    return SmsConfig(
        url=f"https://acct7:Pw9xLk2q@api.gw.example/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
        "?account=ZZtop99&dca=7bit",
        payload="login=ispco-sms&msisdn=%TO_DIGITS%&message=%MESSAGE%&client_ref=isp7-%ID%"
        "&concat_text_sms_max_parts=4&routing_group=premium&repliable=false&from=MyISP",
        headers={"X-Client-Id": "K7q2W9m4Z8x1", "Accept": "application/json", "X-Ref": "%ID%"},
    ).model_dump(mode="json")


def test_masked_hides_payload_and_header_credentials() -> None:
    shown = masked(_config())
    assert "S3cr" not in str(shown) and "tok-123" not in str(shown)
    assert shown["payload"].startswith(f"username={MASK}&password={MASK}&")
    assert shown["headers"]["X-Trace"] == "on"


def test_every_literal_is_secret_unless_harmless_or_a_placeholder() -> None:
    config = _everything()
    shown = masked(config)
    for secret in (
        "acct7",
        "Pw9xLk2q",
        TWILIO_SID,
        "ZZtop99",
        "ispco-sms",
        "isp7-",
        "K7q2W9m4Z8x1",
    ):
        assert secret not in str(shown), secret
    assert shown["url"] == (
        f"https://{MASK}:{MASK}@api.gw.example/2010-04-01/Accounts/{MASK}/Messages.json"
        f"?account={MASK}&dca=7bit"
    )
    assert shown["payload"] == (
        f"login={MASK}&msisdn=%TO_DIGITS%&message=%MESSAGE%&client_ref={MASK}%ID%"
        "&concat_text_sms_max_parts=4&routing_group=premium&repliable=false&from=MyISP"
    )
    assert shown["headers"] == {"X-Client-Id": MASK, "Accept": "application/json", "X-Ref": "%ID%"}
    # What the gateway answers is cleaned of the same values.
    found = secret_values(config["payload"], config["headers"], url=config["url"])
    answer = f"account {TWILIO_SID} (login ispco-sms) unknown; from MyISP"
    assert redact(answer, found) == f"account {MASK} (login {MASK}) unknown; from MyISP"


def test_json_payload_literals_are_secret() -> None:
    payload = (
        '{"to":["%TO%"],"text":"%MESSAGE%","account":"ACabcdefgh","pin":123456,'
        '"encoding":"UNICODE","flash":true,"sender":"MyISP","nested":{"sid":"Xy12Zw34Qq"}}'
    )
    assert secret_values(payload, {}) == ["ACabcdefgh", "123456", "Xy12Zw34Qq"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("type=1&unicode=0&flash=0&to=%TO%", []),  # too short to hide in free text
        ("pwd=abc&to=%TO%", ["abc"]),  # unless the name says it is a credential
        ("Concat-Text-SMS-Max-Parts=4&DCA=16bit&text=%MESSAGE%", []),
        ("bare-literal-token&to=%TO%", ["bare-literal-token"]),
    ],
)
def test_short_and_harmless_literals(payload: str, expected: list[str]) -> None:
    assert secret_values(payload, {}) == expected


@pytest.mark.parametrize(
    "segment", [TWILIO_SID, "bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "x" * 32]
)
def test_key_like_path_segments(segment: str) -> None:
    url = f"https://gw.example/v1/{segment}/send_sms/2/2.0"
    assert segment in secret_values("", {}, url=url)
    assert masked(SmsConfig(url=url, payload="").model_dump(mode="json"))["url"] == (
        f"https://gw.example/v1/{MASK}/send_sms/2/2.0"
    )


def test_unmask_keeps_stored_secrets_when_sent_back_masked() -> None:
    stored = _config()
    echoed = masked(stored) | {"rate_per_second": 10}
    merged = unmask(echoed, stored)
    assert merged["payload"] == stored["payload"]
    assert merged["headers"] == stored["headers"]
    assert merged["rate_per_second"] == 10


def test_unmask_takes_new_secrets() -> None:
    stored = _config()
    new = masked(stored) | {"payload": "username=u&password=new&message=%MESSAGE%&msisdn=%TO%"}
    assert unmask(new, stored)["payload"].endswith("msisdn=%TO%")
    assert "password=new" in unmask(new, stored)["payload"]


def test_unmask_keeps_userinfo_and_path_keys_of_an_unchanged_url() -> None:
    stored = _everything()
    assert unmask(masked(stored), stored) == stored


@pytest.mark.parametrize(
    "url",
    [
        "https://gw.attacker.example/eapi/submission/send_sms/2/2.0",
        "http://bulksms.2way.co.za/eapi/submission/send_sms/2/2.0",  # in clear
        "https://bulksms.2way.co.za:8443/eapi/submission/send_sms/2/2.0",
    ],
)
def test_a_masked_secret_cannot_move_to_another_origin(url: str) -> None:
    stored = _config()
    with pytest.raises(SecretMoved) as raised:
        unmask(masked(stored) | {"url": url}, stored)
    assert raised.value.field == "payload"
    # The payload given in full again: only the header's masked value would move.
    again = masked(stored) | {"url": url, "payload": "password=new&message=%MESSAGE%&to=%TO%"}
    with pytest.raises(SecretMoved) as raised:
        unmask(again, stored)
    assert raised.value.field == "headers.Authorization"
    fresh = again | {"headers": {"Authorization": "Bearer new-token", "X-Trace": "on"}}
    assert unmask(fresh, stored)["headers"]["Authorization"] == "Bearer new-token"


def test_a_new_path_on_the_same_origin_keeps_the_secrets() -> None:
    stored = _config()
    url = "HTTPS://BulkSMS.2way.co.za:443/eapi/submission/send_batch/1/1.0"
    assert unmask(masked(stored) | {"url": url}, stored)["payload"] == stored["payload"]


def test_origin() -> None:
    assert origin("https://GW.example/x") == ("https", "gw.example", 443)
    assert origin("http://gw.example:8080") == ("http", "gw.example", 8080)
    assert origin("http://gw.example:bad/") == ("http", "gw.example", 80)


def test_a_short_credential_is_redacted_only_where_it_stands_alone() -> None:
    found = secret_values("password=p&message=%MESSAGE%", {})
    assert found == ["p"]
    assert redact("POST https://gw/eapi/send\n\npassword=p&message=hi p", found) == (
        "POST https://gw/eapi/send\n\npassword=***&message=hi ***"
    )


def test_unmask_pair_by_pair_and_segment_by_segment() -> None:
    stored = _everything()
    shown = masked(stored)
    edited = shown | {
        "payload": shown["payload"].replace("max_parts=4", "max_parts=3"),
        "url": shown["url"].replace("Messages.json", "Messages").replace("dca=7bit", "dca=8bit"),
    }
    merged = unmask(edited, stored)
    assert merged["payload"] == stored["payload"].replace("max_parts=4", "max_parts=3")
    assert merged["url"] == (
        stored["url"].replace("Messages.json", "Messages").replace("dca=7bit", "dca=8bit")
    )
    # A pair or segment changed by the client is taken as sent, "***" included (refused later).
    assert unmask(shown | {"payload": "login=***x&to=%TO%"}, stored)["payload"] == (
        "login=***x&to=%TO%"
    )


def test_masked_userinfo_cannot_move_to_another_host() -> None:
    stored = _everything()
    moved = masked(stored)["url"].replace("api.gw.example", "gw.attacker.example")
    with pytest.raises(SecretMoved) as raised:
        unmask(masked(stored) | {"url": moved}, stored)
    assert raised.value.field == "url"
