"""PERISAI_ANONYMOUS_ROLE=planner: requests without a token read as a planner, and no more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import error_codes, post, running_server


@pytest.fixture(scope="module")
def open_server(shared_demo_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(shared_demo_db, tmp_path_factory.mktemp("anonymous"), PERISAI_ANONYMOUS_ROLE="planner") as base:
        yield base


def test_without_a_token_the_caller_is_an_anonymous_planner(open_server: str) -> None:
    body = post(open_server, "{ me { subject role } villages(first: 2) { totalCount } }", auth=None)
    assert body["data"]["me"] == {"subject": "anonymous", "role": "planner"}
    assert body["data"]["villages"]["totalCount"] > 0


def test_anonymous_planners_see_no_personal_data_and_write_nothing(open_server: str) -> None:
    personal = post(open_server, "{ enrollments(first: 1) { edges { node { participant { name } } } } }", auth=None)
    assert error_codes(personal) == ["FORBIDDEN"]
    write = post(open_server, """mutation { setAgentStatus(code: "AG-000001", status: INACTIVE) { code } }""", auth=None)
    assert error_codes(write) == ["FORBIDDEN"]


def test_a_bad_token_is_still_refused(open_server: str) -> None:
    assert error_codes(post(open_server, "{ me { role } }", auth="not-a-token")) == ["UNAUTHENTICATED"]


def test_without_the_setting_a_token_is_required(server: str) -> None:
    assert error_codes(post(server, "{ me { role } }", auth=None)) == ["UNAUTHENTICATED"]
