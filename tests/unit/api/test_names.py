from pyk8s.api import names


def test_subdomain_message_is_kubernetes_text() -> None:
    assert names.is_dns1123_subdomain("Bad_Name") == [
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]
    assert names.is_dns1123_subdomain("a.b-c") == []
    assert names.is_dns1123_subdomain("a" * 254)[0] == "must be no more than 253 characters"


def test_label_and_1035() -> None:
    assert names.is_dns1123_label("my-name") == []
    assert names.is_dns1123_label("a.b") == ["must not contain dots"]
    assert names.is_dns1123_label("-x") == [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ]
    assert names.is_dns1035_label("1abc")[0].startswith("a DNS-1035 label must consist of lower case")
    assert names.is_dns1035_label("abc-1") == []


def test_qualified_name_and_label_value() -> None:
    assert names.is_qualified_name("example.com/My_Name") == []
    assert names.is_qualified_name("/x") == ["prefix part must be non-empty"]
    assert names.is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert names.is_valid_label_value("") == []
    assert names.is_valid_label_value("-bad")[0].startswith("a valid label must be an empty string")


def test_port_names() -> None:
    assert names.is_valid_port_name("http") == []
    assert names.is_valid_port_name("80") == ["must contain at least one letter (a-z)"]
    assert "must not contain consecutive hyphens" in names.is_valid_port_name("a--b")
    assert names.is_valid_port_num(0) == ["must be between 1 and 65535, inclusive"]


def test_generate_name_mask() -> None:
    assert names.is_dns1123_subdomain(names.mask_trailing_dash("web-")) == []
