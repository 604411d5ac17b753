from email import message_from_bytes, policy

from services.sender.mime import File, build_email, html_to_text


def test_html_to_text() -> None:
    markup = "<p>Dear <b>Zoë</b>,</p><p>Pay &amp; enjoy<br>now</p><style>x{}</style>"
    assert html_to_text(markup) == "Dear Zoë,\n\nPay & enjoy\nnow"
    assert html_to_text("plain &lt;text&gt;") == "plain <text>"


def test_build_email_round_trips_through_the_parser() -> None:
    built = build_email(
        message_id=42,
        from_address="billing@isp.example",
        from_name="Интернет ISP",
        to="zoe@example.net",
        subject="Счёт за ноябрь — €12",
        body_html="<p>Hello Zoë</p>",
        files=[File("factura ñ.pdf", "application/pdf", b"%PDF-1.4 test")],
    )
    parsed = message_from_bytes(built.as_bytes(), policy=policy.default)
    assert str(parsed["Subject"]) == "Счёт за ноябрь — €12"
    assert parsed["From"].addresses[0].display_name == "Интернет ISP"
    assert parsed["Message-ID"] == "<herald.42@isp.example>"
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Hello Zoë"
    html_part = parsed.get_body(preferencelist=("html",))
    assert html_part is not None and "<p>Hello Zoë</p>" in html_part.get_content()
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "factura ñ.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"
    # Header lines are ASCII (RFC 2047 encoded words), as SMTP without SMTPUTF8 needs.
    assert all(ord(c) < 128 for c in built.as_bytes().split(b"\r\n\r\n")[0].decode("ascii"))
