"""What the contract routes parse themselves: If-Match (a strong or weak ETag) and the listing's
cursor; a malformed one is a problem document."""
import base64
from datetime import date

import pytest

from shared.api.if_match import parse_if_match
from services.contracts.api.listing_cursor import decode_cursor, encode_cursor
from shared.api.problems import Problem


@pytest.mark.parametrize("header, version", [(None, None), ('"3"', 3), ('W/"12"', 12), (' "7" ', 7)])
def test_if_match_names_a_version(header, version):
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", ["abc", '"v3"', '"-1"', '""'])
def test_an_if_match_naming_no_version_is_a_400(header):
    with pytest.raises(Problem) as caught:
        parse_if_match(header)
    assert (caught.value.status, caught.value.code) == (400, "invalid-if-match")


def test_a_cursor_names_the_last_contract_served():
    assert decode_cursor(encode_cursor(date(2024, 9, 19), "6c1f0a56|x")) == (date(2024, 9, 19), "6c1f0a56|x")


@pytest.mark.parametrize("cursor", ["@@@", "YWJj", base64.urlsafe_b64encode(b"2024-13-01|c").decode(), "_w=="])
def test_a_cursor_no_page_returned_is_a_422(cursor):
    with pytest.raises(Problem) as caught:
        decode_cursor(cursor)
    assert (caught.value.status, caught.value.code, caught.value.detail) == (
        422, "invalid-cursor", "Pass the cursor a previous page returned.")
