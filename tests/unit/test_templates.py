import pytest

from shared.templates import TemplateProblem, check, is_ignored, person_context, render


def _ctx(**attributes: object) -> dict[str, object]:
    person = {"id": 7, "login": "000007", "full_name": "Zoë Ndlovu", "attributes": attributes}
    return {"customer": person_context(person), "company": {"name": "NetCo"}, "campaign": {}}


def test_renders_customer_fields_and_attributes() -> None:
    text = render(
        "Dear {{ customer.name }}, balance {{ customer.attributes.balance }}", _ctx(balance=12.5)
    )
    assert text == "Dear Zoë Ndlovu, balance 12.5"


def test_unknown_top_level_variable_is_refused_before_rendering() -> None:
    with pytest.raises(TemplateProblem, match="unknown variable user"):
        check("Hello {{ user.name }}")


def test_missing_attribute_is_an_error_not_blank() -> None:
    with pytest.raises(TemplateProblem, match="balance"):
        render("{{ customer.attributes.balance }}", _ctx())


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateProblem, match="line 2"):
        check("ok\n{{ customer.name ")


@pytest.mark.parametrize(
    "payload",
    [
        "{{ customer.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.items.__globals__ }}",
        "{{ company.name.format.__globals__ }}",
    ],
)
def test_sandbox_blocks_python_internals(payload: str) -> None:
    with pytest.raises(TemplateProblem):
        render(payload, _ctx())


def test_ignore_marker() -> None:
    source = "{% if customer.attributes.skip %}=== IGNORE NOTIFICATION ==={% else %}hi{% endif %}"
    assert is_ignored(render(source, _ctx(skip=True)))
    assert not is_ignored(render(source, _ctx(skip=False)))
