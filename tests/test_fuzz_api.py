"""Schemathesis over the whole OpenAPI document of a real running server (issue 12): valid and
invalid requests to every operation, as an admin, a reviewer and the case system. Any 5xx, any
status the document does not list, and any body or content type that breaks the document fails.

Deterministic (derandomized Hypothesis, no example database) and bounded: a few dozen examples
per operation and mode, so the whole test stays within a few minutes on two busy cores. It keeps
going after a failing operation and reports every one at the end."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from tests.api_world import World, api_world
from tests.review_support import PASSWORD

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ACCOUNTS = ("adm", "rev1", "case-system")  # admin, reviewer, integration
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}


def _known(world: World, path: str) -> dict[str, object]:
    """Path parameters naming seeded objects, so that requests get past the 404 too."""
    values = {"camera_id": "west-gate", "zone_id": "grass-1", "candidate_id": world.candidates[3], "evidence_id": 1,
              "ref": world.cases[0] if path.startswith("/api/v1/cases/") else world.notices[0],
              "shop_id": "noodles", "delivery_id": 1, "username": "rev2"}
    return {name: value for name, value in values.items() if "{" + name + "}" in path}


def _tokens(session: requests.Session, url: str, old: dict[str, str] | None = None) -> dict[str, str]:
    """Bearer tokens that work: the old ones, or fresh ones where a fuzzed logout or account change ended them."""
    out = {}
    for user in ACCOUNTS:
        if old and session.get(f"{url}/api/v1/auth/me", headers={"Authorization": f"Bearer {old[user]}"},
                               timeout=30).status_code == 200:
            out[user] = old[user]
            continue
        r = session.post(f"{url}/api/v1/auth/token", data={"username": user, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        out[user] = r.json()["access_token"]
    return out


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(tmp_path, vtest_path):
    with api_world(tmp_path, vtest_path) as world, requests.Session() as session:
        url = world.server.url
        tokens = _tokens(session, url)
        spec = session.get(f"{url}/openapi.json", timeout=30, headers={"Authorization": f"Bearer {tokens['adm']}"}).json()
        schema = schemathesis.openapi.from_dict(spec)
        failures: list[str] = []
        answered: dict[str, set[int]] = {}  # operation -> statuses seen
        calls = 0
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 35
        for operation in operations:
            tokens = _tokens(session, url, tokens)
            for mode, examples in EXAMPLES.items():
                known = _known(world, operation.path)
                strategy = operation.as_strategy(generation_mode=mode)
                if known:  # half the examples aim at objects that exist
                    strategy = strategy | operation.as_strategy(generation_mode=mode, path_parameters=known)

                @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=strategy, who=st.sampled_from(ACCOUNTS))
                def exercise(case, who):  # type: ignore[no-untyped-def]
                    nonlocal calls
                    calls += 1
                    headers = {"Authorization": f"Bearer {tokens[who]}"}
                    response = case.call(base_url=url, session=session, headers=headers, timeout=60)
                    answered.setdefault(operation.label, set()).add(response.status_code)
                    case.validate_response(response, checks=CHECKS, headers=headers)

                try:
                    exercise()
                except Unsatisfiable:  # an operation without parameters or body has no invalid request
                    assert mode == GenerationMode.NEGATIVE and not operation.path_parameters and \
                        not operation.query and not operation.headers and not operation.body, operation.label
                except (Exception, BaseExceptionGroup) as err:  # noqa: BLE001 - schemathesis' FailureGroup is a
                    # BaseExceptionGroup: collect every operation's failures, report them all at the end
                    failures.append(f"--- {operation.label} ({mode.value}) ---\n{err}")
        assert calls >= len(operations) * 10, calls
        # the tokens worked and the seeded objects were found: most operations also answered a success
        succeeded = sorted(op for op, codes in answered.items() if any(200 <= c < 300 for c in codes))
        assert len(succeeded) >= 30, answered
        print(f"fuzz: {calls} requests, {len(succeeded)}/{len(operations)} operations answered 2xx; never: "
              + ", ".join(sorted(set(answered) - set(succeeded))))
        assert not failures, f"{len(failures)} failing operation(s):\n" + "\n".join(failures)
