"""The fake GitHub, exercised with the real PyGithub client, and its contract with GitHub's official descriptions.

Every response the fake gives in these tests is validated (at fixture teardown) against the matching operation's
response schema in @octokit/openapi's ``api.github.com.json``; every GraphQL query it answers is validated against
@octokit/graphql-schema, and so is the shape of its answer. ``tests/fakes/fetch_specs.sh`` fetches both.
"""

from __future__ import annotations

import ast
import base64
import gzip
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import pytest
import requests
from github import Auth, Github, GithubException, RateLimitExceededException, UnknownObjectException
from github.GithubRetry import GithubRetry
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from urllib3.util.retry import Retry

from tests.fakes.github import OCTOKIT_CACHE, FakeGitHub, RecordedRequest, load_webhook_example

SPEC_PATH = OCTOKIT_CACHE / "openapi" / "generated" / "api.github.com.json"
GRAPHQL_SCHEMA_PATH = OCTOKIT_CACHE / "graphql-schema" / "schema.graphql"
SRC = Path(__file__).resolve().parents[2] / "src" / "annexa"
SPEC_URN = "urn:github-openapi"
HEAD = "c0ffee" + "0" * 34
MAIN = "a" * 40

needs_specs = pytest.mark.skipif(
    not (SPEC_PATH.is_file() and GRAPHQL_SCHEMA_PATH.is_file()),
    reason="octokit specs missing: run tests/fakes/fetch_specs.sh",
)


# ---------------------------------------------------------------------------------------------- the contract


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` rewritten as JSON Schema (a ``null`` type or alternative)."""
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str) and not any(k in out for k in ("$ref", "allOf", "oneOf", "anyOf")):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _pointer(*segments: str) -> str:
    return "".join("/" + urllib.parse.quote(s.replace("~", "~0").replace("/", "~1"), safe="") for s in segments)


class OpenAPIContract:
    """Validates recorded fake responses against GitHub's OpenAPI description."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = _nullable(spec)
        resource = Resource.from_contents(self.spec, default_specification=DRAFT7)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URN, resource)
        self.operations: list[tuple[str, str, re.Pattern[str], re.Pattern[str], int]] = []
        for template, item in self.spec["paths"].items():
            for method in item:
                if method in ("get", "post", "patch", "put", "delete"):
                    strict = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
                    loose = re.sub(r"\\\{[^}]+\\\}", ".+", re.escape(template))
                    literal = len(re.sub(r"\{[^}]+\}", "", template))
                    self.operations.append(
                        (method.upper(), template, re.compile(f"^{strict}$"), re.compile(f"^{loose}$"), literal))

    def template_for(self, method: str, path: str) -> str | None:
        """The spec path template of the operation answering ``method path`` (most specific wins)."""
        for loose in (False, True):
            hits = [op for op in self.operations if op[0] == method and (op[3] if loose else op[2]).match(path)]
            if hits:
                return max(hits, key=lambda op: op[4])[1]
        return None

    def problems(self, rec: RecordedRequest) -> list[str]:
        """What is wrong with one recorded response (empty when it conforms)."""
        where = f"{rec.method} {rec.path} -> {rec.status}"
        if rec.path == "/graphql" or rec.route == "":
            return []
        template = self.template_for(rec.method, rec.path)
        if template is None:
            return [f"{where}: no operation in GitHub's OpenAPI description"]
        if f"{rec.method} {template}" != rec.route:
            return [f"{where}: the fake answered as {rec.route!r} but GitHub's operation is {template!r}"]
        operation = self.spec["paths"][template][rec.method.lower()]
        responses = operation["responses"]
        code = str(rec.status)
        accepted = "application/json" in operation.get("requestBody", {}).get("content", {})
        if rec.body is not None and rec.status < 400 and accepted:  # the fake accepted it: GitHub must too
            request_ref = SPEC_URN + "#" + _pointer("paths", template, rec.method.lower(), "requestBody", "content",
                                                    "application/json", "schema")
            validator = Draft7Validator({"$ref": request_ref}, registry=self.registry)
            request_errors = [f"{where}: request {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                              for e in validator.iter_errors(rec.body)][:5]
            if request_errors:
                return request_errors
        if rec.status >= 400 and not (isinstance(rec.response, dict) and isinstance(rec.response.get("message"), str)):
            return [f"{where}: an error without 'message' (GitHub always sends one)"]
        if rec.status == 304:  # conditional requests work on every GET; GitHub documents them only on some
            return [] if rec.method == "GET" and rec.response is None else [f"{where}: a 304 must be an empty GET"]
        if code in responses:
            pointer = _pointer("paths", template, rec.method.lower(), "responses", code)
            response = responses[code]
            if "$ref" in response:
                pointer = response["$ref"].removeprefix("#")
                response = self.registry.resolver().lookup(SPEC_URN + "#" + pointer).contents
        elif rec.status >= 400:  # an error GitHub sends but does not document here: its basic-error JSON
            response = {}
        else:
            return [f"{where}: status {code} is not a documented response ({sorted(responses)})"]
        if "application/json" in response.get("content", {}):
            schema_ref = SPEC_URN + "#" + pointer + _pointer("content", "application/json", "schema")
        elif rec.status >= 400:  # documented without a body, but GitHub sends its basic-error JSON
            schema_ref = SPEC_URN + "#/components/schemas/basic-error"
        else:
            return [] if rec.response is None else [f"{where}: GitHub documents no JSON body here"]
        validator = Draft7Validator({"$ref": schema_ref}, registry=self.registry)
        return [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
                for e in validator.iter_errors(rec.response)][:5]


@cache
def contract() -> OpenAPIContract:
    return OpenAPIContract(json.loads(SPEC_PATH.read_text(encoding="utf-8")))


@cache
def graphql_schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(GRAPHQL_SCHEMA_PATH.read_text(encoding="utf-8"), assume_valid=True)


def graphql_problems(query: str, variables: dict[str, Any] | None, response: Any) -> list[str]:
    """Validate a query against GitHub's schema, and the fake's answer against the query's types."""
    schema = graphql_schema()
    document = graphql.parse(query)
    errors = [e.message for e in graphql.validate(schema, document)]
    if errors or not isinstance(response, dict) or response.get("data") is None:
        return errors

    def resolve_field(source: Any, info: graphql.GraphQLResolveInfo[Any], **_: Any) -> Any:
        return source.get(info.path.key) if isinstance(source, dict) else None

    def resolve_type(value: Any, info: graphql.GraphQLResolveInfo[Any], abstract: Any) -> str | None:
        if isinstance(value, dict) and "__typename" in value:
            return str(value["__typename"])
        for candidate in info.schema.get_possible_types(abstract):
            if set(value) <= set(candidate.fields):
                return str(candidate.name)
        return None

    for type_ in schema.type_map.values():
        if isinstance(type_, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
            type_.resolve_type = resolve_type
    result = graphql.execute_sync(schema, document, root_value=response["data"], variable_values=variables,
                                  field_resolver=resolve_field)
    return [f"answer: {e.message} at {e.path}" for e in result.errors or []]


def contract_problems(server: FakeGitHub) -> list[str]:
    """Everything the server answered that GitHub's descriptions disagree with (empty without the specs).

    Other suites (for example the ``annexa ci`` end-to-end test) can call this on their own ``FakeGitHub``.
    """
    if not (SPEC_PATH.is_file() and GRAPHQL_SCHEMA_PATH.is_file()):
        return []
    problems = [p for rec in server.requests for p in contract().problems(rec)]
    for rec in server.requests:
        if rec.path == "/graphql" and isinstance(rec.body, dict) and rec.status == 200:
            problems += graphql_problems(rec.body["query"], rec.body.get("variables"), rec.response)
    return problems + [f"URL outside the fake: {u}" for u in foreign_urls(server)]


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A seeded fake; at teardown every response it gave is checked against GitHub's descriptions."""
    with FakeGitHub() as server:
        seed(server)
        yield server
        assert contract_problems(server) == []
        assert foreign_urls(server) == []


def foreign_urls(server: FakeGitHub) -> list[str]:
    """Every absolute URL in a response or Link header that does not point at the fake."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and re.match(r"^(https?|git)://", node) and not node.startswith(server.origin):
            found.append(node)

    for rec in server.requests:
        walk(rec.response)
        found += [u for u in re.findall(r"<([^>]+)>", rec.headers.get("Link", "")) if not u.startswith(server.origin)]
    return [u for u in found if not u.startswith(("git://127.0.0.1/", "https://docs.github.com/"))]


def seed(server: FakeGitHub) -> None:
    for token, kind in [("tok-admin", "admin"), ("tok-actions", "github_token"), ("tok-read", "read"),
                        ("tok-fork", "fork_readonly")]:
        server.add_token(token, kind=kind)
    server.add_repo("acme/models", security_and_analysis={"secret_scanning": "enabled",
                                                          "secret_scanning_push_protection": "disabled"})
    server.add_branch("acme/models", "main", sha=MAIN)
    server.add_branch("acme/models", "release/1.0", sha="b" * 40)
    server.add_branch("acme/models", "feature", sha=HEAD)
    server.set_classic_protection("acme/models", "main", {
        "required_pull_request_reviews": {"required_approving_review_count": 2, "dismiss_stale_reviews": True,
                                          "require_code_owner_reviews": True},
        "required_status_checks": {"strict": True, "contexts": ["ci/test"]},
        "enforce_admins": True, "allow_force_pushes": False, "allow_deletions": False,
    })
    server.add_ruleset("acme/models", {
        "name": "release-guard", "enforcement": "active",
        "conditions": {"ref_name": {"include": ["refs/heads/release/*"], "exclude": []}},
        "rules": [{"type": "deletion"}, {"type": "pull_request", "parameters": {
            "required_approving_review_count": 1, "dismiss_stale_reviews_on_push": True,
            "require_code_owner_review": True, "require_last_push_approval": False,
            "required_review_thread_resolution": False}}],
        "bypass_actors": [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}],
    })
    server.add_ruleset("acme/models", {
        "name": "signed-trial", "enforcement": "evaluate",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [{"type": "required_signatures"}],
    })
    server.add_ruleset("acme", {
        "name": "main-guard", "enforcement": "active",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []},
                       "repository_name": {"include": ["~ALL"], "exclude": ["sandbox-*"]}},
        "rules": [{"type": "non_fast_forward"}],
        "bypass_actors": [{"actor_id": 1, "actor_type": "OrganizationAdmin", "bypass_mode": "pull_request"}],
    }, org=True)
    server.add_pull("acme/models", 7, user="alice", head_sha=HEAD, base_ref="main", head_ref="feature", files=[
        {"filename": "models/m.safetensors", "status": "added", "patch": None},
        {"filename": "train.py", "status": "modified", "patch": "@@ -1,1 +1,2 @@\n x\n+import torch"},
    ])
    server.add_review("acme/models", 7, user="bob", state="APPROVED", commit_id=HEAD)
    server.add_team("acme", "ml-model-owners", members=["bob", "carol"])


def client(server: FakeGitHub, token: str, **kwargs: Any) -> Github:
    options: dict[str, Any] = {"seconds_between_requests": None, "seconds_between_writes": None, "retry": None,
                               "per_page": 100}
    options.update(kwargs)
    return Github(base_url=server.base_url, auth=Auth.Token(token), **options)


def error_of(call: Callable[[], Any]) -> GithubException:
    with pytest.raises(GithubException) as info:
        call()
    return info.value


# ---------------------------------------------------------------------------------------------- repository, branch


@pytest.mark.parametrize(("token", "secret_scanning", "admin"), [
    ("tok-admin", "enabled", True),
    ("tok-actions", None, False),
    ("tok-read", None, False),
])
def test_repository_shows_security_settings_only_to_admins(fake: FakeGitHub, token: str,
                                                           secret_scanning: str | None, admin: bool) -> None:
    repo = client(fake, token).get_repo("acme/models")
    assert (repo.default_branch, repo.visibility, repo.archived, repo.permissions.admin) == (
        "main", "private", False, admin)
    assert "security_and_analysis" in fake.requests[-1].response if admin else "security_and_analysis" not in \
        fake.requests[-1].response
    assert (repo.security_and_analysis.secret_scanning.status if repo.security_and_analysis else None) == \
        secret_scanning


@pytest.mark.parametrize(("token", "status", "message", "exc_type"), [
    ("tok-actions", 403, "Resource not accessible by integration", GithubException),
    ("tok-fork", 403, "Resource not accessible by integration", GithubException),
    ("tok-read", 404, "Not Found", UnknownObjectException),
])
def test_classic_protection_is_hidden_from_non_admin_tokens(fake: FakeGitHub, token: str, status: int,
                                                            message: str, exc_type: type[Exception]) -> None:
    branch = client(fake, token).get_repo("acme/models").get_branch("main")
    assert branch.protected is True
    err = error_of(branch.get_protection)
    assert (type(err), err.status, err.data["message"]) == (exc_type, status, message)


def test_classic_protection_for_admin(fake: FakeGitHub) -> None:
    protection = client(fake, "tok-admin").get_repo("acme/models").get_branch("main").get_protection()
    reviews = protection.required_pull_request_reviews
    assert (reviews.required_approving_review_count, reviews.dismiss_stale_reviews,
            reviews.require_code_owner_reviews, reviews.require_last_push_approval) == (2, True, True, False)
    assert (protection.enforce_admins, protection.allow_force_pushes, protection.allow_deletions,
            protection.required_linear_history) == (True, False, False, False)
    assert (protection.required_status_checks.strict, protection.required_status_checks.contexts) == (
        True, ["ci/test"])


def test_branch_without_protection_is_a_plain_404_not_unknown_object(fake: FakeGitHub) -> None:
    branch = client(fake, "tok-admin").get_repo("acme/models").get_branch("feature")
    err = error_of(branch.get_protection)
    assert (type(err), err.status, err.data["message"]) == (GithubException, 404, "Branch not protected")
    assert branch.protected is False


@pytest.mark.parametrize(("branch", "message"), [("gone", "Branch not found"), ("release", "Branch not found")])
def test_missing_branch(fake: FakeGitHub, branch: str, message: str) -> None:
    err = error_of(lambda: client(fake, "tok-actions").get_repo("acme/models").get_branch(branch))
    assert (err.status, err.data["message"]) == (404, message)


def test_empty_repository_and_missing_default_branch(fake: FakeGitHub) -> None:
    fake.add_repo("acme/empty", empty=True)
    repo = client(fake, "tok-admin").get_repo("acme/empty")
    assert repo.default_branch == "main"
    assert error_of(lambda: repo.get_branch("main")).data["message"] == "Branch not found"
    assert error_of(lambda: repo.get_contents("README.md")).data["message"] == "This repository is empty."
    assert list(repo.get_branches()) == []


def test_unknown_repository_and_bad_token(fake: FakeGitHub) -> None:
    err = error_of(lambda: client(fake, "tok-admin").get_repo("acme/nope"))
    assert (type(err), err.status, err.data["message"]) == (UnknownObjectException, 404, "Not Found")
    err = error_of(lambda: client(fake, "tok-unknown").get_repo("acme/models"))
    assert (err.status, err.data["message"]) == (401, "Bad credentials")


# ---------------------------------------------------------------------------------------------- rulesets


@pytest.mark.parametrize(("branch", "expected"), [
    ("main", [("non_fast_forward", "Organization", "acme")]),
    ("release/1.0", [("deletion", "Repository", "acme/models"), ("pull_request", "Repository", "acme/models")]),
    ("feature", []),
])
def test_rules_for_branch_lists_active_rules_only(fake: FakeGitHub, branch: str,
                                                  expected: list[tuple[str, str, str]]) -> None:
    gh = client(fake, "tok-actions")
    _, rules = gh.requester.requestJsonAndCheck("GET", f"/repos/acme/models/rules/branches/{branch}")
    assert [(r["type"], r["ruleset_source_type"], r["ruleset_source"]) for r in rules] == expected


def test_org_ruleset_excluded_by_repository_name(fake: FakeGitHub) -> None:
    fake.add_repo("acme/sandbox-1")
    fake.add_branch("acme/sandbox-1", "main")
    _, rules = client(fake, "tok-admin").requester.requestJsonAndCheck(
        "GET", "/repos/acme/sandbox-1/rules/branches/main")
    assert rules == []
    assert client(fake, "tok-admin").get_repo("acme/sandbox-1").get_branch("main").protected is False


@pytest.mark.parametrize(("token", "bypass"), [
    ("tok-admin", [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]),
    ("tok-actions", None),
])
def test_rulesets_list_and_detail(fake: FakeGitHub, token: str, bypass: list[dict[str, Any]] | None) -> None:
    gh = client(fake, token)
    _, listed = gh.requester.requestJsonAndCheck("GET", "/repos/acme/models/rulesets")
    assert [(r["name"], r["source_type"], r["enforcement"]) for r in listed] == [
        ("release-guard", "Repository", "active"), ("signed-trial", "Repository", "evaluate"),
        ("main-guard", "Organization", "active")]
    _, own = gh.requester.requestJsonAndCheck("GET", "/repos/acme/models/rulesets",
                                              parameters={"includes_parents": "false"})
    assert [r["name"] for r in own] == ["release-guard", "signed-trial"]
    _, detail = gh.requester.requestJsonAndCheck("GET", f"/repos/acme/models/rulesets/{listed[0]['id']}")
    assert (detail["conditions"]["ref_name"]["include"], detail.get("bypass_actors")) == (
        ["refs/heads/release/*"], bypass)


@pytest.mark.parametrize(("token", "status", "message"), [
    ("tok-admin", 200, None), ("tok-actions", 403, "Resource not accessible by integration"),
    ("tok-read", 404, "Not Found"),
])
def test_org_rulesets_need_org_admin(fake: FakeGitHub, token: str, status: int, message: str | None) -> None:
    gh = client(fake, token)
    if status == 200:
        _, listed = gh.requester.requestJsonAndCheck("GET", "/orgs/acme/rulesets")
        _, detail = gh.requester.requestJsonAndCheck("GET", f"/orgs/acme/rulesets/{listed[0]['id']}")
        assert (detail["name"], detail["bypass_actors"][0]["actor_type"]) == ("main-guard", "OrganizationAdmin")
    else:
        err = error_of(lambda: gh.requester.requestJsonAndCheck("GET", "/orgs/acme/rulesets"))
        assert (err.status, err.data["message"]) == (status, message)


# ---------------------------------------------------------------------------------------------- pulls, pagination


def test_pull_request_files_and_reviews(fake: FakeGitHub) -> None:
    pr = client(fake, "tok-actions").get_repo("acme/models").get_pull(7)
    assert (pr.number, pr.user.login, pr.head.sha, pr.base.ref, pr.head.repo.fork, pr.state) == (
        7, "alice", HEAD, "main", False, "open")
    files = [(f.filename, f.status, f.additions, f.patch) for f in pr.get_files()]
    assert files == [("models/m.safetensors", "added", 0, None),
                     ("train.py", "modified", 1, "@@ -1,1 +1,2 @@\n x\n+import torch")]
    assert [(r.user.login, r.state, r.commit_id) for r in pr.get_reviews()] == [("bob", "APPROVED", HEAD)]


def test_pagination_follows_link_headers(fake: FakeGitHub) -> None:
    fake.set_pull_files("acme/models", 7, [{"filename": f"f{i:03}.py", "status": "added"} for i in range(250)])
    fake.clear_requests()
    names = [f.filename for f in client(fake, "tok-actions").get_repo("acme/models").get_pull(7).get_files()]
    assert names == [f"f{i:03}.py" for i in range(250)]
    pages = [r for r in fake.requests if r.path.endswith("/files")]
    assert [(r.query.get("page", ["1"])[0], len(r.response)) for r in pages] == [("1", 100), ("2", 100), ("3", 50)]
    base = fake.base_url + "/repos/acme/models/pulls/7/files"
    assert pages[0].headers["Link"] == (f'<{base}?per_page=100&page=2>; rel="next", '
                                        f'<{base}?per_page=100&page=3>; rel="last"')


def test_default_page_size_and_cap(fake: FakeGitHub) -> None:
    gh = client(fake, "tok-actions")
    fake.set_pull_files("acme/models", 7, [{"filename": f"f{i}.py"} for i in range(45)])
    _, first = gh.requester.requestJsonAndCheck("GET", "/repos/acme/models/pulls/7/files")
    _, big = gh.requester.requestJsonAndCheck("GET", "/repos/acme/models/pulls/7/files",
                                              parameters={"per_page": "500"})
    assert (len(first), len(big)) == (30, 45)


def test_pull_request_files_stop_at_3000(fake: FakeGitHub) -> None:
    fake.set_pull_files("acme/models", 7, [{"filename": f"f{i}.py", "status": "added"} for i in range(3005)])
    pr = client(fake, "tok-actions").get_repo("acme/models").get_pull(7)
    assert (pr.changed_files, len(list(pr.get_files()))) == (3005, 3000)


@pytest.mark.parametrize(("change", "state", "merged"), [
    ({"state": "closed"}, "closed", False),
    ({"state": "closed", "merged": True}, "closed", True),
])
def test_closed_pull_request(fake: FakeGitHub, change: dict[str, Any], state: str, merged: bool) -> None:
    fake.set_pull("acme/models", 7, **change)
    pr = client(fake, "tok-actions").get_repo("acme/models").get_pull(7)
    assert (pr.state, pr.merged) == (state, merged)


def test_deleted_pull_request_is_404(fake: FakeGitHub) -> None:
    fake.delete_pull("acme/models", 7)
    err = error_of(lambda: client(fake, "tok-actions").get_repo("acme/models").get_pull(7))
    assert (type(err), err.status) == (UnknownObjectException, 404)


def test_fork_pull_request_head_repository(fake: FakeGitHub) -> None:
    fake.add_pull("acme/models", 8, user="mallory", fork=True, files=[{"filename": "x.py"}])
    pr = client(fake, "tok-fork").get_repo("acme/models").get_pull(8)
    assert (pr.head.repo.full_name, pr.head.repo.fork, pr.base.repo.full_name) == (
        "mallory/models", True, "acme/models")


# ---------------------------------------------------------------------------------- conditional requests, rate


def test_etag_answers_304_and_does_not_spend_rate_limit(fake: FakeGitHub) -> None:
    repo = client(fake, "tok-admin").get_repo("acme/models")
    remaining = fake.requests[-1].headers["X-RateLimit-Remaining"]
    assert repo.update() is False
    last = fake.requests[-1]
    assert (last.status, last.response, last.headers["X-RateLimit-Remaining"]) == (304, None, remaining)
    fake.add_repo("acme/models", archived=True, security_and_analysis={"secret_scanning": "enabled"})
    assert repo.update() is True
    assert (fake.requests[-1].status, repo.archived) == (200, True)


def test_rate_limit_headers_and_exhaustion(fake: FakeGitHub) -> None:
    gh = client(fake, "tok-actions")
    gh.get_repo("acme/models")
    headers = fake.requests[-1].headers
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"], headers["X-RateLimit-Used"],
            headers["X-RateLimit-Resource"]) == ("1000", "999", "1", "core")
    assert gh.get_rate_limit().resources.core.remaining == 999
    fake.set_rate_limit_remaining("tok-actions", 0)
    err = error_of(lambda: gh.get_repo("acme/models"))
    assert (type(err), err.status, fake.requests[-1].headers["X-RateLimit-Remaining"]) == (
        RateLimitExceededException, 403, "0")
    assert err.data["message"].startswith("API rate limit exceeded")


# ---------------------------------------------------------------------------------------------- fault injection


def test_injected_5xx_fails_then_recovers(fake: FakeGitHub) -> None:
    fake.fail_next(2, status=502)
    err = error_of(lambda: client(fake, "tok-admin").get_repo("acme/models"))
    assert err.status == 502
    retrying = client(fake, "tok-admin", retry=Retry(total=3, status_forcelist=[502], backoff_factor=0,
                                                     allowed_methods=None, raise_on_status=False))
    assert retrying.get_repo("acme/models").name == "models"
    assert [r.status for r in fake.requests] == [502, 502, 200]


def test_fault_can_target_one_path(fake: FakeGitHub) -> None:
    fake.fail_next(1, status=503, path_contains="/pulls/7/files")
    repo = client(fake, "tok-admin").get_repo("acme/models")
    pr = repo.get_pull(7)
    err = error_of(lambda: list(pr.get_files()))
    assert (err.status, err.data["message"]) == (503, "Service Unavailable")
    assert [f.filename for f in pr.get_files()] == ["models/m.safetensors", "train.py"]


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_sends_retry_after(fake: FakeGitHub, status: int) -> None:
    fake.secondary_rate_limit(1, retry_after=7, status=status)
    err = error_of(lambda: client(fake, "tok-actions").get_repo("acme/models"))
    assert (err.status, (err.headers or {}).get("retry-after")) == (status, "7")
    assert err.data["message"].startswith("You have exceeded a secondary rate limit")


def test_secondary_rate_limit_is_waited_out_by_github_retry(fake: FakeGitHub) -> None:
    fake.secondary_rate_limit(1, retry_after=1)
    gh = client(fake, "tok-actions", retry=GithubRetry(total=2, secondary_rate_wait=1))
    assert gh.get_repo("acme/models").name == "models"
    assert [r.status for r in fake.requests] == [403, 200]


def test_stalled_request_times_out(fake: FakeGitHub) -> None:
    fake.stall_next(1, seconds=2.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client(fake, "tok-admin", timeout=1).get_repo("acme/models")


# ---------------------------------------------------------------------------------------------- writes


def test_comment_create_list_update(fake: FakeGitHub) -> None:
    pr = client(fake, "tok-actions").get_repo("acme/models").get_pull(7)
    comment = pr.create_issue_comment("<!-- annexa -->\nfirst")
    comment.edit("<!-- annexa -->\nsecond")
    assert [(c.id, c.body, c.user.login) for c in pr.get_issue_comments()] == [
        (comment.id, "<!-- annexa -->\nsecond", "github-actions[bot]")]
    assert [c["body"] for c in fake.comments("acme/models", 7)] == ["<!-- annexa -->\nsecond"]


@pytest.mark.parametrize(("setup", "token", "status", "message"), [
    (None, "tok-fork", 403, "Resource not accessible by integration"),
    ("archive", "tok-actions", 403, "Repository was archived so is read-only."),
    ("long", "tok-actions", 422, "Validation Failed"),
])
def test_comment_refused(fake: FakeGitHub, setup: str | None, token: str, status: int, message: str) -> None:
    if setup == "archive":
        fake.add_repo("acme/models", archived=True)
        fake.add_pull("acme/models", 7, user="alice")
    pr = client(fake, token).get_repo("acme/models").get_pull(7)
    err = error_of(lambda: pr.create_issue_comment("x" * (65537 if setup == "long" else 10)))
    assert (err.status, err.data["message"]) == (status, message)
    assert fake.comments("acme/models", 7) == []


def make_annotations(n: int, start: int = 1) -> list[dict[str, Any]]:
    return [{"path": "train.py", "start_line": i, "end_line": i, "annotation_level": "failure",
             "message": f"finding {i}"} for i in range(start, start + n)]


def test_check_run_annotations_append_across_updates(fake: FakeGitHub) -> None:
    repo = client(fake, "tok-actions").get_repo("acme/models")
    run = repo.create_check_run("annexa", HEAD, status="in_progress",
                                output={"title": "annexa", "summary": "s", "annotations": make_annotations(50)})
    run.edit(conclusion="failure",
             output={"title": "annexa", "summary": "done", "annotations": make_annotations(10, 51)})
    assert (run.status, run.conclusion, run.output.annotations_count) == ("completed", "failure", 60)
    listed = [(a.path, a.start_line, a.annotation_level) for a in run.get_annotations()]
    assert listed == [("train.py", i, "failure") for i in range(1, 61)]
    stored = fake.check_runs("acme/models")
    assert [(r["name"], r["head_sha"], r["conclusion"], len(r["annotations"]), r["output"]["summary"])
            for r in stored] == [("annexa", HEAD, "failure", 60, "done")]
    assert run.pull_requests[0].number == 7


@pytest.mark.parametrize(("token", "body", "status", "message"), [
    ("tok-actions", {"output": {"title": "t", "summary": "s", "annotations": make_annotations(51)}}, 422, None),
    ("tok-actions", {"output": {"title": "t", "summary": "x" * 65536}}, 422,
     "Invalid request.\n\nOnly 65535 characters are allowed in summary; 65536 were supplied."),
    ("tok-actions", {"output": {"summary": "s"}}, 422, "Invalid request.\n\n\"title\" wasn't supplied."),
    ("tok-read", {}, 403, "You must authenticate via a GitHub App."),
    ("tok-fork", {}, 403, "Resource not accessible by integration"),
])
def test_check_run_refused(fake: FakeGitHub, token: str, body: dict[str, Any], status: int,
                           message: str | None) -> None:
    gh = client(fake, token)
    err = error_of(lambda: gh.requester.requestJsonAndCheck(
        "POST", "/repos/acme/models/check-runs", input={"name": "annexa", "head_sha": HEAD, **body}))
    assert err.status == status
    assert message is None or err.data["message"] == message
    assert fake.check_runs("acme/models") == []


def sarif_field(document: dict[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()


def test_sarif_upload_and_status(fake: FakeGitHub) -> None:
    gh = client(fake, "tok-actions")
    sarif = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "annexa"}}, "results": []}]}
    _, receipt = gh.requester.requestJsonAndCheck("POST", "/repos/acme/models/code-scanning/sarifs", input={
        "commit_sha": HEAD, "ref": "refs/pull/7/head", "sarif": sarif_field(sarif), "tool_name": "annexa"})
    assert fake.requests[-1].status == 202
    _, status = gh.requester.requestJsonAndCheck("GET", f"/repos/acme/models/code-scanning/sarifs/{receipt['id']}")
    assert status["processing_status"] == "complete"
    assert [(u["commit_sha"], u["ref"], u["sarif"], u["tool_name"]) for u in fake.sarif_uploads("acme/models")] == [
        (HEAD, "refs/pull/7/head", sarif, "annexa")]


@pytest.mark.parametrize(("body", "status"), [
    ({"commit_sha": HEAD, "ref": "refs/heads/main", "sarif": "bm90IGd6aXA="}, 400),
    ({"commit_sha": "abc", "ref": "refs/heads/main", "sarif": sarif_field({})}, 422),
    ({"commit_sha": HEAD, "ref": "main", "sarif": sarif_field({})}, 422),
])
def test_sarif_upload_rejects_bad_input(fake: FakeGitHub, body: dict[str, Any], status: int) -> None:
    gh = client(fake, "tok-actions")
    err = error_of(lambda: gh.requester.requestJsonAndCheck("POST", "/repos/acme/models/code-scanning/sarifs",
                                                             input=body))
    assert err.status == status
    assert fake.sarif_uploads("acme/models") == []


# ---------------------------------------------------------------------------------------------- other reads


@pytest.mark.parametrize(("errors", "status", "expected"), [
    ([{"line": 3, "kind": "Unknown owner", "source": "*.pt @acme/ghosts", "message": "Unknown owner"}], 200,
     [(3, "Unknown owner", ".github/CODEOWNERS")]),
    ([], 200, []),
    (None, 404, None),
])
def test_codeowners_errors(fake: FakeGitHub, errors: list[dict[str, Any]] | None, status: int,
                           expected: list[tuple[int, str, str]] | None) -> None:
    fake.set_codeowners_errors("acme/models", errors)
    gh = client(fake, "tok-actions")
    if status == 404:
        assert error_of(lambda: gh.requester.requestJsonAndCheck(
            "GET", "/repos/acme/models/codeowners/errors")).status == 404
        return
    _, data = gh.requester.requestJsonAndCheck("GET", "/repos/acme/models/codeowners/errors",
                                               parameters={"ref": "main"})
    assert [(e["line"], e["kind"], e["path"]) for e in data["errors"]] == expected


@pytest.mark.parametrize(("token", "members"), [
    ("tok-admin", ["bob", "carol"]),
    ("tok-actions", None),
])
def test_team_members(fake: FakeGitHub, token: str, members: list[str] | None) -> None:
    gh = client(fake, token)

    def call() -> tuple[dict[str, Any], Any]:
        return gh.requester.requestJsonAndCheck("GET", "/orgs/acme/teams/ml-model-owners/members")

    if members is None:
        assert error_of(call).data["message"] == "Resource not accessible by integration"
        return
    assert [u["login"] for u in call()[1]] == members
    _, membership = gh.requester.requestJsonAndCheck("GET", "/orgs/acme/teams/ml-model-owners/memberships/bob")
    assert membership["state"] == "active"
    assert error_of(lambda: gh.requester.requestJsonAndCheck(
        "GET", "/orgs/acme/teams/ml-model-owners/memberships/mallory")).status == 404


def test_contents(fake: FakeGitHub) -> None:
    fake.set_file("acme/models", ".github/CODEOWNERS", b"*.pt @acme/ml-model-owners\n", ref="main")
    content = client(fake, "tok-actions").get_repo("acme/models").get_contents(".github/CODEOWNERS", ref="main")
    assert not isinstance(content, list)
    assert (content.path, content.decoded_content) == (".github/CODEOWNERS", b"*.pt @acme/ml-model-owners\n")


def test_org_repositories(fake: FakeGitHub) -> None:
    fake.add_repo("acme/public-site", visibility="public")
    _, listed = client(fake, "tok-admin").requester.requestJsonAndCheck("GET", "/orgs/acme/repos")
    assert [(r["full_name"], r["visibility"]) for r in listed] == [
        ("acme/models", "private"), ("acme/public-site", "public")]


# ---------------------------------------------------------------------------------------------- GraphQL

REF_QUERY = """
query($owner: String!, $name: String!, $ref: String!) {
  repository(owner: $owner, name: $name) {
    visibility isArchived
    defaultBranchRef { name }
    ref(qualifiedName: $ref) {
      name
      refUpdateRule {
        requiredApprovingReviewCount requiresCodeOwnerReviews allowsForcePushes allowsDeletions
        requiresLinearHistory requiresSignatures requiredStatusCheckContexts
      }
      branchProtectionRule { isAdminEnforced dismissesStaleReviews }
      rules(first: 50) {
        nodes {
          type
          parameters {
            ... on PullRequestParameters {
              requiredApprovingReviewCount dismissStaleReviewsOnPush requireCodeOwnerReview
            }
          }
          repositoryRuleset { name enforcement }
        }
      }
    }
  }
}
"""


@pytest.mark.parametrize(("token", "ref", "update_rule", "admin_rule", "rules"), [
    ("tok-actions", "refs/heads/main",
     {"requiredApprovingReviewCount": 2, "requiresCodeOwnerReviews": True, "allowsForcePushes": False,
      "allowsDeletions": False, "requiresLinearHistory": False, "requiresSignatures": False,
      "requiredStatusCheckContexts": ["ci/test"]}, None,
     [{"type": "NON_FAST_FORWARD", "parameters": None,
       "repositoryRuleset": {"name": "main-guard", "enforcement": "ACTIVE"}}]),
    ("tok-admin", "refs/heads/main", None, {"isAdminEnforced": True, "dismissesStaleReviews": True}, None),
    ("tok-actions", "refs/heads/release/1.0", None, None,
     [{"type": "DELETION", "parameters": None,
       "repositoryRuleset": {"name": "release-guard", "enforcement": "ACTIVE"}},
      {"type": "PULL_REQUEST", "parameters": {"requiredApprovingReviewCount": 1, "dismissStaleReviewsOnPush": True,
                                             "requireCodeOwnerReview": True},
       "repositoryRuleset": {"name": "release-guard", "enforcement": "ACTIVE"}}]),
])
def test_graphql_ref_update_rule_and_rules(fake: FakeGitHub, token: str, ref: str, update_rule: Any,
                                           admin_rule: Any, rules: Any) -> None:
    gh = client(fake, token)
    _, data = gh.requester.graphql_query(REF_QUERY, {"owner": "acme", "name": "models", "ref": ref})
    repo = data["data"]["repository"]
    assert (repo["visibility"], repo["isArchived"], repo["defaultBranchRef"]) == ("PRIVATE", False, {"name": "main"})
    if update_rule is not None:
        assert repo["ref"]["refUpdateRule"] == update_rule
    if ref == "refs/heads/release/1.0":
        assert repo["ref"]["refUpdateRule"] is None
    assert repo["ref"]["branchProtectionRule"] == admin_rule
    if rules is not None:
        assert repo["ref"]["rules"]["nodes"] == rules


def test_graphql_unknown_repository(fake: FakeGitHub) -> None:
    gh = client(fake, "tok-actions")
    with pytest.raises(UnknownObjectException):
        gh.requester.graphql_query(REF_QUERY, {"owner": "acme", "name": "nope", "ref": "refs/heads/main"})


ORG_QUERY = """
query($login: String!, $after: String) {
  organization(login: $login) {
    repositories(first: 2, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { nameWithOwner visibility isArchived codeowners(refName: "main") { errors { line kind } } }
    }
  }
}
"""


def test_graphql_org_repositories_paginate(fake: FakeGitHub) -> None:
    for name in ("a", "b"):
        fake.add_repo(f"acme/{name}", visibility="internal")
    fake.set_codeowners_errors("acme/models", [{"line": 2, "kind": "Unknown owner"}])
    gh = client(fake, "tok-admin")
    seen, after = [], None
    while True:
        _, data = gh.requester.graphql_query(ORG_QUERY, {"login": "acme", "after": after})
        page = data["data"]["organization"]["repositories"]
        seen += [(n["nameWithOwner"], n["visibility"], n["codeowners"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [("acme/models", "PRIVATE", {"errors": [{"line": 2, "kind": "Unknown owner"}]}),
                    ("acme/a", "INTERNAL", None), ("acme/b", "INTERNAL", None)]


# ---------------------------------------------------------------------------------------------- webhook events


@needs_specs
@pytest.mark.parametrize("action", ["opened", "synchronize", "closed", "reopened"])
def test_webhook_examples_load(action: str) -> None:
    payload = load_webhook_example(action)
    pr = payload["pull_request"]
    assert (payload["action"], pr["number"], pr["state"] == "closed") == (action, payload["number"], action == "closed")
    assert re.fullmatch(r"[0-9a-f]{40}", pr["head"]["sha"])


@needs_specs
@pytest.mark.parametrize(("event", "action"), [("pull_request", "opened"), ("pull_request", "synchronize"),
                                               ("pull_request_review", "submitted")])
def test_event_payload_matches_fake_state(fake: FakeGitHub, event: str, action: str) -> None:
    payload = fake.event_payload("acme/models", 7, action=action, event=event)
    pr = payload["pull_request"]
    assert (payload["action"], payload["repository"]["full_name"], pr["number"], pr["head"]["sha"],
            pr["base"]["ref"], pr["user"]["login"]) == (action, "acme/models", 7, HEAD, "main", "alice")
    assert pr["url"] == fake.base_url + "/repos/acme/models/pulls/7"
    assert "api.github.com" not in json.dumps(payload)
    if event == "pull_request_review":
        assert (payload["review"]["user"]["login"], payload["review"]["state"]) == ("bob", "approved")


def test_webhook_example_missing_action_is_an_error() -> None:
    if not (OCTOKIT_CACHE / "webhooks-examples").is_dir():
        with pytest.raises(FileNotFoundError, match=r"fetch_specs\.sh"):
            load_webhook_example("opened")
    else:
        with pytest.raises(LookupError, match=r"no pull_request\.nonsense"):
            load_webhook_example("nonsense")


# ---------------------------------------------------------------------------------------------- the contract itself


@needs_specs
def test_every_fake_route_is_a_github_operation(fake: FakeGitHub) -> None:
    mismatched = []
    for method, _regex, template, _handler in fake._routes:
        concrete = re.sub(r"\{[^}]+\}", "x", template)
        if contract().template_for(method, concrete) != template:
            mismatched.append(f"{method} {template}")
    assert mismatched == []


@needs_specs
@pytest.mark.parametrize(("route", "path", "status", "body", "response", "problem"), [
    ("GET /repos/{owner}/{repo}/pulls/{pull_number}", "/repos/a/b/pulls/1", 200, None, {"number": 1},
     "is a required property"),
    ("GET /repos/{owner}/{repo}/rules/branches/{branch}", "/repos/a/b/rules/branches/main", 200, None,
     [{"type": "deletion", "ruleset_id": "one"}], "is not valid under any of the given schemas"),
    ("GET /repos/{owner}/{repo}/branches/{branch}", "/repos/a/b/branches/main", 201, None, {},
     "status 201 is not a documented response"),
    ("GET /repos/{owner}/{repo}", "/repos/a/b/branches/main", 200, None, {}, "GitHub's operation is"),
    ("GET /repos/{owner}/{repo}/branches/{branch}/protection", "/repos/a/b/branches/main/protection", 403, None,
     {"error": "no"}, "an error without 'message'"),
    ("POST /repos/{owner}/{repo}/check-runs", "/repos/a/b/check-runs", 201, {"name": "annexa"}, {},
     "request : 'head_sha' is a required property"),
])
def test_contract_catches_a_wrong_response(route: str, path: str, status: int, body: Any, response: Any,
                                           problem: str) -> None:
    rec = RecordedRequest(route.split()[0], path, {}, status, "t", route, body, response, {})
    problems = contract().problems(rec)
    assert any(problem in p for p in problems), problems


@needs_specs
@pytest.mark.parametrize(("query", "response", "problem"), [
    ("{ repository(owner: \"a\", name: \"b\") { visibilty } }", None, "Cannot query field 'visibilty'"),
    ("{ repository(owner: \"a\", name: \"b\") { visibility } }", {"data": {"repository": {"visibility": "secret"}}},
     "Enum 'RepositoryVisibility' cannot represent value"),
    ("{ repository(owner: \"a\", name: \"b\") { isArchived } }", {"data": {"repository": {"isArchived": None}}},
     "Cannot return null for non-nullable field"),
])
def test_graphql_contract_catches_errors(query: str, response: Any, problem: str) -> None:
    problems = graphql_problems(query, None, response)
    assert any(problem in p for p in problems), problems


def annexa_graphql_queries() -> list[tuple[str, str]]:
    """GraphQL operations written as string literals anywhere in annexa's source."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.strip()
                if re.match(r"^(query|fragment)\b[^{]*\{", text):
                    found.append((f"{path.relative_to(SRC.parent)}:{node.lineno}", node.value))
    return found


@needs_specs
def test_annexa_graphql_queries_are_valid() -> None:
    queries = annexa_graphql_queries()
    if not queries:
        pytest.skip("annexa's source has no GraphQL query yet")
    invalid = {where: graphql_problems(q, None, None) for where, q in queries}
    assert {where: errs for where, errs in invalid.items() if errs} == {}


def test_remaining_read_endpoints(fake: FakeGitHub) -> None:
    gh = client(fake, "tok-admin")
    repo = gh.get_repo("acme/models")
    assert gh.get_user().login == "admin-user"
    comment_id = fake.add_comment("acme/models", 7, "<!-- annexa -->\nold", user="github-actions[bot]")
    assert repo.get_pull(7).get_issue_comment(comment_id).body == "<!-- annexa -->\nold"
    run = repo.create_check_run("annexa", HEAD, status="completed", conclusion="success",
                                output={"title": "annexa", "summary": "ok"})
    _, listed = gh.requester.requestJsonAndCheck("GET", f"/repos/acme/models/commits/{HEAD}/check-runs")
    assert (listed["total_count"], [r["id"] for r in listed["check_runs"]]) == (1, [run.id])
    assert repo.get_check_run(run.id).conclusion == "success"
    branch = repo.get_branch("main")
    assert (branch.get_required_pull_request_reviews().required_approving_review_count,
            branch.get_required_signatures(), branch.get_admin_enforcement(),
            branch.get_required_status_checks().contexts) == (2, False, True, ["ci/test"])
    assert [b.name for b in repo.get_branches()] == ["feature", "main", "release/1.0"]


RULESETS_QUERY = """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    rulesets(first: 10, includeParents: true) {
      totalCount
      nodes {
        name enforcement target
        source { __typename ... on Organization { login } ... on Repository { nameWithOwner } }
        bypassActors(first: 10) { nodes { bypassMode organizationAdmin repositoryRoleDatabaseId } }
        rules(first: 10) {
          nodes {
            type
            parameters {
              __typename
              ... on RequiredStatusChecksParameters {
                requiredStatusChecks { context integrationId } strictRequiredStatusChecksPolicy
              }
            }
          }
        }
      }
    }
    branchProtectionRules(first: 10) {
      nodes { pattern requiresApprovingReviews requiredApprovingReviewCount isAdminEnforced allowsForcePushes }
    }
  }
}
"""


@pytest.mark.parametrize(("token", "bypass", "classic"), [
    ("tok-admin", [{"bypassMode": "ALWAYS", "organizationAdmin": False, "repositoryRoleDatabaseId": 5}],
     [{"pattern": "main", "requiresApprovingReviews": True, "requiredApprovingReviewCount": 2,
       "isAdminEnforced": True, "allowsForcePushes": False}]),
    ("tok-actions", [], []),
])
def test_graphql_rulesets_and_protection_rules(fake: FakeGitHub, token: str, bypass: list[dict[str, Any]],
                                               classic: list[dict[str, Any]]) -> None:
    fake.add_ruleset("acme/models", {"name": "checks", "rules": [{"type": "required_status_checks", "parameters": {
        "required_status_checks": [{"context": "ci/test", "integration_id": 15368}],
        "strict_required_status_checks_policy": True}}]})
    _, data = client(fake, token).requester.graphql_query(RULESETS_QUERY, {"owner": "acme", "name": "models"})
    repo = data["data"]["repository"]
    nodes = repo["rulesets"]["nodes"]
    assert [(n["name"], n["enforcement"], n["target"], n["source"]) for n in nodes] == [
        ("release-guard", "ACTIVE", "BRANCH", {"__typename": "Repository", "nameWithOwner": "acme/models"}),
        ("signed-trial", "EVALUATE", "BRANCH", {"__typename": "Repository", "nameWithOwner": "acme/models"}),
        ("checks", "ACTIVE", "BRANCH", {"__typename": "Repository", "nameWithOwner": "acme/models"}),
        ("main-guard", "ACTIVE", "BRANCH", {"__typename": "Organization", "login": "acme"})]
    assert nodes[0]["bypassActors"]["nodes"] == bypass
    assert nodes[2]["rules"]["nodes"] == [{"type": "REQUIRED_STATUS_CHECKS", "parameters": {
        "__typename": "RequiredStatusChecksParameters", "strictRequiredStatusChecksPolicy": True,
        "requiredStatusChecks": [{"context": "ci/test", "integrationId": 15368}]}}]
    assert repo["branchProtectionRules"]["nodes"] == classic


def test_dismissed_review_and_push_after_approval(fake: FakeGitHub) -> None:
    later = fake.add_review("acme/models", 7, user="carol", state="APPROVED", commit_id=HEAD)
    fake.dismiss_review("acme/models", 7, later)
    fake.push("acme/models", 7, "d" * 40)
    pr = client(fake, "tok-actions").get_repo("acme/models").get_pull(7)
    assert pr.head.sha == "d" * 40
    assert [(r.user.login, r.state, r.commit_id) for r in pr.get_reviews()] == [
        ("bob", "APPROVED", HEAD), ("carol", "DISMISSED", HEAD)]


def test_token_scoped_to_other_repositories_sees_404(fake: FakeGitHub) -> None:
    fake.add_token("tok-other", kind="read", repos=["acme/other"])
    gh = client(fake, "tok-other")
    err = error_of(lambda: gh.get_repo("acme/models"))
    assert (type(err), err.status) == (UnknownObjectException, 404)
    with pytest.raises(UnknownObjectException):
        gh.requester.graphql_query(REF_QUERY, {"owner": "acme", "name": "models", "ref": "refs/heads/main"})


def test_anonymous_client_sees_public_repositories_only(fake: FakeGitHub) -> None:
    fake.add_repo("acme/site", visibility="public")
    gh = Github(base_url=fake.base_url, seconds_between_requests=None, seconds_between_writes=None, retry=None)
    assert (gh.get_repo("acme/site").private, gh.get_rate_limit().resources.core.limit) == (False, 60)
    assert error_of(lambda: gh.get_repo("acme/models")).status == 404
