"""Contract: every response the fake GitLab sends validates against GitLab's own JSON schemas (MIT, GitLab FOSS).

Routes without a published schema (protected branches, approvals, push rules, diffs, versions) are checked for
the fields GitLab's API documentation lists. Allowed drift (see gitlab_schemas/README.md): notes carry
``project_id``, ``imported``, ``imported_from``; an open MR's ``merged_by``/``merge_user``/``closed_by`` are null.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from annexa.platforms.gitlab.client import quote
from tests.fakes.gitlab import FakeGitLab, diff_for, iter_responses
from tests.gitlab.conftest import PROJECT, TOKEN, client_for

SCHEMAS = Path(__file__).parent.parent / "fakes" / "gitlab_schemas"
NOTE_DRIFT = ("project_id", "imported", "imported_from")
MR_NULLABLE = ("merged_by", "merge_user", "closed_by")
DOCUMENTED = {
    "GET /projects/:id/protected_branches": {"id", "name", "push_access_levels", "merge_access_levels",
                                             "unprotect_access_levels", "allow_force_push"},
    "GET /projects/:id/approvals": {"reset_approvals_on_push", "merge_requests_author_approval",
                                    "merge_requests_disable_committers_approval",
                                    "disable_overriding_approvers_per_merge_request"},
    "GET /projects/:id/approval_rules": {"id", "name", "rule_type", "eligible_approvers", "approvals_required",
                                         "users", "groups", "applies_to_all_protected_branches",
                                         "protected_branches", "contains_hidden_groups"},
    "GET /projects/:id/merge_requests/:iid/diffs": {"old_path", "new_path", "a_mode", "b_mode", "diff", "new_file",
                                                    "renamed_file", "deleted_file", "generated_file", "collapsed",
                                                    "too_large"},
    "GET /projects/:id/merge_requests/:iid/versions": {"id", "head_commit_sha", "base_commit_sha",
                                                       "start_commit_sha", "created_at", "merge_request_id",
                                                       "state", "real_size"},
    "GET /projects/:id/merge_requests/:iid/approvals": {"approvals_required", "approvals_left", "approved_by"},
    "GET /projects/:id": {"id", "default_branch", "visibility", "archived", "path_with_namespace", "empty_repo"},
    "GET /projects/:id/push_rule": {"prevent_secrets", "reject_unsigned_commits", "member_check",
                                    "commit_committer_check", "deny_delete_tag", "max_file_size"},
}


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.rglob("*.json"):
        uri = path.relative_to(SCHEMAS).as_posix()
        resources.append((uri, Resource.opaque(json.loads(path.read_text()))))
    # merge_request.json refers to pipeline/detail.json, which is not vendored; the fake never sends a pipeline.
    resources.append(("pipeline/detail.json", Resource.opaque({"type": "object"})))
    return Registry().with_resources(resources)


def _validate(schema_name: str, data: Any) -> None:
    schema = json.loads((SCHEMAS / schema_name).read_text())
    validator = jsonschema.Draft7Validator({**schema, "$id": schema_name}, registry=_registry(),
                                           format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _exercise(fake: FakeGitLab) -> None:
    fake.set_push_rule(PROJECT, {"reject_unsigned_commits": True})
    fake.add_mr(PROJECT, 7, diffs=[diff_for(f"f{i}.py", ["x"]) for i in range(45)])
    fake.approve(PROJECT, 7, "olivia")
    fake.add_note(PROJECT, 7, "hello", "dev")
    client = client_for(fake)
    pid = quote(PROJECT)
    client.get("/user")
    client.get(f"/projects/{pid}")
    client.get_all(f"/projects/{pid}/protected_branches")
    client.get(f"/projects/{pid}/approvals")
    client.get_all(f"/projects/{pid}/approval_rules")
    client.get(f"/projects/{pid}/push_rule")
    client.get(f"/projects/{pid}/merge_requests/7")
    client.get_all(f"/projects/{pid}/merge_requests/7/diffs", {"per_page": 20})
    client.get(f"/projects/{pid}/merge_requests/7/approvals")
    client.get_all(f"/projects/{pid}/merge_requests/7/versions")
    created = client.post(f"/projects/{pid}/merge_requests/7/notes", {"body": "report"}, "note")
    client.put(f"/projects/{pid}/merge_requests/7/notes/{created['id']}", {"body": "report 2"}, "note")
    client.get_all(f"/projects/{pid}/merge_requests/7/notes")
    client.get_all(f"/groups/{quote('acme/ml-model-owners')}/members/all")


def test_every_response_matches_gitlab_schemas(fake: FakeGitLab) -> None:
    _exercise(fake)
    routes = set()
    for entry in iter_responses(fake):
        routes.add(entry.route)
        data = entry.response
        if entry.route == "GET /user":
            _validate("user/basic.json", data)
        elif entry.route == "GET /projects/:id/merge_requests/:iid":
            _validate("merge_request.json", {k: v for k, v in data.items()
                                             if not (k in MR_NULLABLE and v is None)})
        elif entry.route.endswith("/notes") or entry.route.endswith("/notes/:note_id"):
            items = data if isinstance(data, list) else [data]
            _validate("notes.json", [{k: v for k, v in n.items() if k not in NOTE_DRIFT} for n in items])
        elif entry.route == "GET /groups/:id/members/all":
            _validate("members.json", data)
        else:
            items = data if isinstance(data, list) else [data]
            for item in items:
                missing = DOCUMENTED[entry.route] - set(item)
                assert not missing, (entry.route, missing)
    assert len(routes) == 14


def test_pagination_headers_and_link(fake: FakeGitLab) -> None:
    fake.add_mr(PROJECT, 7, diffs=[diff_for(f"f{i}.py", ["x"]) for i in range(45)])
    client = client_for(fake, TOKEN)
    items = client.get_all(f"/projects/{quote(PROJECT)}/merge_requests/7/diffs", {"per_page": 20})
    assert [i["new_path"] for i in items] == [f"f{i}.py" for i in range(45)]
    pages = [r for r in fake.requests if r.route.endswith("/diffs")]
    assert [r.query.get("page", ["1"])[0] for r in pages] == ["1", "2", "3"]


def test_push_rule_never_configured_is_literal_null(fake: FakeGitLab) -> None:
    client = client_for(fake)
    assert client.get(f"/projects/{quote(PROJECT)}/push_rule") is None
    assert fake.requests[-1].response is None


@pytest.mark.parametrize(("tier", "status"), [("free", 403), ("ce", 404)])
def test_premium_endpoints_by_tier(tier: str, status: int) -> None:
    from gitlab.exceptions import GitlabHttpError

    from tests.gitlab.conftest import seed

    with FakeGitLab(tier=tier) as server:
        seed(server)
        client = client_for(server)
        with pytest.raises(GitlabHttpError) as caught:
            client.get(f"/projects/{quote(PROJECT)}/approvals")
        assert caught.value.response_code == status
