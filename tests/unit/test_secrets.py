from shared.models import SmsConfig
from shared.secrets import MASK, masked, unmask


def _config() -> dict[str, object]:
    return SmsConfig(
        payload="username=ispco&password=S3cr%26t&message=%MESSAGE%&msisdn=%TO_DIGITS%",
        headers={"Authorization": "Bearer tok-123", "X-Trace": "on"},
    ).model_dump(mode="json")


def test_masked_hides_payload_and_header_credentials() -> None:
    shown = masked(_config())
    assert "S3cr" not in str(shown) and "tok-123" not in str(shown)
    assert f"password={MASK}" in shown["payload"] and "username=ispco" in shown["payload"]
    assert shown["headers"]["X-Trace"] == "on"


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
