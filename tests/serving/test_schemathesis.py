"""Property-based API testing from the server's own OpenAPI schema (schemathesis 4, fixed seed, bounded), against
a real uvicorn server on 127.0.0.1: no request, valid or not, may get a 5xx; every status code and body must be
the documented ones."""
import pytest
from hypothesis import HealthCheck, Phase, seed, settings

from tests.conftest import pinned

schemathesis = pinned("schemathesis")

SEED = 20261129


@pytest.fixture(scope="module")
def live(served):
    from modelbook.serving.app import create_app
    from modelbook.serving.registry import ModelRegistry
    from modelbook.serving.server import ThreadServer

    ModelRegistry(served.folder / "registry").set_active("fashion", 1)
    with ThreadServer(create_app(served.settings())) as url:
        yield url


@pytest.fixture(scope="module")
def api(live):
    return schemathesis.openapi.from_url(live + "/openapi.json")


CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")


def _fuzz(api, headers: dict, max_examples: int) -> tuple[int, list[str]]:
    """Run every operation's strategy (fixed seed, derandomized) and collect check failures instead of stopping."""
    from hypothesis import given
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures, calls = [], [0]
    for result in api.get_all_operations():
        operation = result.ok()

        @seed(SEED)
        @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            calls[0] += 1
            try:
                case.call_and_validate(headers=headers, checks=checks)
            except (Exception, BaseExceptionGroup) as e:  # every failure is reported at the end
                failures.append(f"{operation.label}: {type(e).__name__}: {str(e).strip().splitlines()[0][:200]}")

        run()
    return calls[0], failures


@pytest.mark.timeout(600)
def test_api_with_admin_token(api, served):
    """Every operation with a token that has every scope, so the requests reach the handlers."""
    n, failures = _fuzz(api, {"Authorization": f"Bearer {served.admin}"}, max_examples=25)
    assert n >= 50 and not failures, sorted(set(failures))[:10]


@pytest.mark.timeout(600)
def test_api_without_token(api):
    """Every operation with no token: the auth layer answers (documented 401), never a 5xx."""
    n, failures = _fuzz(api, {}, max_examples=5)
    assert n >= 10 and not failures, sorted(set(failures))[:10]
