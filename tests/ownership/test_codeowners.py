"""CODEOWNERS parsing and matching with GitHub and GitLab semantics, and where each platform finds the file."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from annexa.codeowners import GITHUB, GITLAB, OwnerMatch, compile_github, compile_gitlab, find_file, parse, valid_owner
from tests.support import make_checkout


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        # a single name floats: it matches at any depth, as a file or as a folder holding the path
        ("*.js", "app.js", True),
        ("*.js", "src/deep/app.js", True),
        ("*.js", "src/app.jsx", False),
        ("README", "docs/README", True),
        ("logs", "a/logs/today.txt", True),
        # a leading or inner slash anchors at the root
        ("/README", "docs/README", False),
        ("/README", "README", True),
        ("docs/guide.md", "docs/guide.md", True),
        ("docs/guide.md", "site/docs/guide.md", False),
        ("/build/logs/", "build/logs/a/b.txt", True),
        ("/build/logs/", "x/build/logs/a.txt", False),
        # a trailing slash means a folder: its contents, never a file of that name
        ("apps/", "apps/index.js", True),
        ("apps/", "deep/apps/x/y.js", True),
        ("apps/", "apps", False),
        # a folder named without a trailing slash still owns everything below it
        ("/apps/github", "apps/github/a/b.js", True),
        ("/apps/github", "apps/github", True),
        ("/apps/github", "apps/githubber", False),
        # a final /* is one level only
        ("docs/*", "docs/getting-started.md", True),
        ("docs/*", "docs/build-app/troubleshooting.md", False),
        ("/docs/*/", "docs/a/b/c.md", True),
        # ** crosses folders
        ("**/logs", "deeply/nested/logs/x.log", True),
        ("**/logs", "logs/x.log", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b/z.txt", True),
        ("a/**", "a/b/c", True),
        ("a/**", "a", False),
        ("**", "any/file", True),
        ("/**", "file", True),
        ("*", ".github/workflows/ci.yml", True),
        ("?.md", "a.md", True),
        ("?.md", "ab.md", False),
        ("path\\ with\\ spaces/", "path with spaces/x", True),
    ],
)
def test_github_patterns(pattern: str, path: str, matches: bool) -> None:
    compiled = compile_github(pattern.replace("\\ ", " "))
    assert compiled.regex is not None or compiled.literal is not None
    assert compiled.matches(path) is matches
    # the linear segment matcher, used for patterns with many wildcards, agrees
    assert replace(compiled, regex=None, literal=None).matches(path) is matches


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        # no leading slash means /**/ in front: GitLab floats even patterns with an inner slash
        ("docs/guide.md", "site/docs/guide.md", True),
        ("README.md", "a/b/README.md", True),
        ("/README.md", "a/README.md", False),
        # a trailing slash means everything below, at any depth
        ("/docs/", "docs/a/b/c.md", True),
        ("lib/", "x/lib/y.rb", True),
        # without the trailing slash a name is only that file, never a folder's contents
        ("/docs", "docs", True),
        ("/docs", "docs/index.md", False),
        ("/docs/*", "docs/index.md", True),
        ("/docs/*", "docs/projects/index.md", False),
        ("/docs/**/*.md", "docs/a/b/c.md", True),
        ("/docs/**/*.md", "docs/c.md", True),
        # a final ** is a single * for File.fnmatch
        ("/docs/**", "docs/a", True),
        ("/docs/**", "docs/a/b", False),
        ("*", "a/b/.hidden", True),
        ("*.rb", ".dot/x.rb", True),
        # fnmatch classes and escapes
        ("*.[ch]", "src/x.c", True),
        ("*.[!ch]", "src/x.c", False),
        ("file[0-9].txt", "file7.txt", True),
        ("file[0-9].txt", "filex.txt", False),
        ("\\#file_with_pound.rb", "#file_with_pound.rb", True),
        # a class never matches the folder separator, even through a range that spans it
        ("/a[!-0]b", "a.b", True),
        ("/a[!-0]b", "a/b", False),
        ("path with spaces/", "path with spaces/x", True),
    ],
)
def test_gitlab_patterns(pattern: str, path: str, matches: bool) -> None:
    compiled = compile_gitlab(pattern)
    assert compiled.regex is not None or compiled.literal is not None
    assert compiled.matches(path) is matches
    assert replace(compiled, regex=None, literal=None).matches(path) is matches


def test_pathological_pattern_is_matched_without_backtracking() -> None:
    pattern = "*a" * 60 + "b"
    name = "a" * 250
    assert compile_github(pattern).regex is None
    assert compile_github(pattern).matches(name) is False
    assert compile_gitlab(pattern).matches("x/" + name + "b") is True
    deep = compile_github("/a/**/b/**/c/**/d/**/e")
    assert deep.regex is None
    assert deep.matches("a/" + "x/" * 40 + "b/c/d/y/e/f") is True
    assert deep.matches("a/" + "x/" * 40 + "b/c/d/y/f") is False


@pytest.mark.parametrize("platform", [GITHUB, GITLAB])
def test_regex_and_segment_matcher_agree(platform: str) -> None:
    rng = random.Random(7)
    segments = ["a", "b", "*", "**", "?", "a*", "*b", "a?b", "x.y", ".h", "", "\\*"]
    segments += ["[ab]", "[!a]", "[a-c]"] if platform == GITLAB else []
    names = ["a", "b", "ab", "aab", "x.y", ".h", "c", "ba", "*"]
    compile_ = compile_gitlab if platform == GITLAB else compile_github
    disagree = []
    for _ in range(3000):
        pattern = "/".join(rng.choice(segments) for _ in range(rng.randint(1, 4)))
        pattern = ("/" if rng.random() < 0.3 else "") + pattern + ("/" if rng.random() < 0.3 else "")
        path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 5)))
        compiled = compile_(pattern)
        if compiled.matches(path) != replace(compiled, regex=None, literal=None).matches(path):
            disagree.append((pattern, path))
    assert disagree == []


GITHUB_FILE = """\
# comment
*                   @acme/engineering
/models/            @acme/ml-model-owners   # inline comment
/models/public/
*.md                docs@acme.example
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/main.py", (OwnerMatch(("@acme/engineering",), 2, None, "*"),)),
        ("models/llm/weights.safetensors", (OwnerMatch(("@acme/ml-model-owners",), 3, None, "/models/"),)),
        # a line without owners unowns what it matches, and a later line still wins over it
        ("models/public/card.json", (OwnerMatch((), 4, None, "/models/public/"),)),
        ("models/public/README.md", (OwnerMatch(("docs@acme.example",), 5, None, "*.md"),)),
        ("apps/github/index.js", (OwnerMatch((), 7, None, "/apps/github"),)),
        ("apps/web/index.js", (OwnerMatch(("@octocat",), 6, None, "/apps/"),)),
    ],
)
def test_github_last_match_wins(path: str, expected: tuple[OwnerMatch, ...]) -> None:
    parsed = parse(GITHUB_FILE, GITHUB)
    assert parsed.errors == ()
    assert parsed.owners_of(path) == expected


def test_github_no_match_is_empty() -> None:
    assert parse("/src/ @a\n", GITHUB).owners_of("docs/x.md") == ()


GITLAB_FILE = """\
* @general-approvers
README.md @readme-owner

[Documentation][2] @docs-team
docs/
README.md

^[Database] @database-team
model/db/
config/db/database-setup.md @docs-team

[documentation]
*.txt @texts
[Models] @@maintainer
/models/ @acme/ml/owners
!/models/public/
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/app.rb", (OwnerMatch(("@general-approvers",), 1, None, "*"),)),
        # lines before any section always apply, each section adds its own last match
        ("README.md", (
            OwnerMatch(("@readme-owner",), 2, None, "README.md"),
            OwnerMatch(("@docs-team",), 6, "Documentation", "README.md", approvals=2),
        )),
        # section default owners; a later header with the same name in another case joins the section
        ("docs/notes.txt", (
            OwnerMatch(("@general-approvers",), 1, None, "*"),
            OwnerMatch(("@texts",), 13, "Documentation", "*.txt"),
        )),
        # optional section: still reported, flagged optional
        ("config/db/database-setup.md", (
            OwnerMatch(("@general-approvers",), 1, None, "*"),
            OwnerMatch(("@docs-team",), 10, "Database", "config/db/database-setup.md", optional=True),
        )),
        ("model/db/schema.rb", (
            OwnerMatch(("@general-approvers",), 1, None, "*"),
            OwnerMatch(("@database-team",), 9, "Database", "model/db/", optional=True),
        )),
        # roles as default owners; an exclusion takes the path out of its section
        ("models/private/w.bin", (
            OwnerMatch(("@general-approvers",), 1, None, "*"),
            OwnerMatch(("@acme/ml/owners",), 15, "Models", "/models/"),
        )),
        ("models/public/w.bin", (OwnerMatch(("@general-approvers",), 1, None, "*"),)),
    ],
)
def test_gitlab_sections_are_evaluated_separately(path: str, expected: tuple[OwnerMatch, ...]) -> None:
    parsed = parse(GITLAB_FILE, GITLAB)
    assert parsed.errors == ()
    assert [s.name for s in parsed.sections] == ["Documentation", "Database", "Documentation", "Models"]
    assert parsed.owners_of(path) == expected


def test_gitlab_section_header_fields() -> None:
    parsed = parse("[Docs][3] @a @b/c\n^[Opt]\n", GITLAB)
    assert [(s.name, s.line, s.optional, s.approvals, s.default_owners) for s in parsed.sections] == [
        ("Docs", 1, False, 3, ("@a", "@b/c")),
        ("Opt", 2, True, 0, ()),
    ]


def test_gitlab_default_owner_line_is_used_when_entry_has_none() -> None:
    parsed = parse("[S] @team\n/a/\n/a/b/ @other\n", GITLAB)
    assert parsed.owners_of("a/x") == (OwnerMatch(("@team",), 2, "S", "/a/"),)
    assert parsed.owners_of("a/b/x") == (OwnerMatch(("@other",), 3, "S", "/a/b/"),)


def test_gitlab_line_with_only_bad_owners_does_not_fall_back_to_the_defaults() -> None:
    parsed = parse("[S] @team\n/a/ team\n", GITLAB)
    assert [(p.line, p.kind) for p in parsed.errors] == [(2, "invalid-owner")]
    assert parsed.owners_of("a/x") == (OwnerMatch((), 2, "S", "/a/"),)


def test_gitlab_duplicate_pattern_in_a_section_keeps_the_last_entry_at_the_first_place() -> None:
    parsed = parse("*.md @first\n/docs/ @docs\n*.md @second\n", GITLAB)
    # the duplicate replaces the first *.md in place, so /docs/ (later in order) still wins for docs/*.md
    assert parsed.owners_of("docs/a.md") == (OwnerMatch(("@docs",), 2, None, "/docs/"),)
    assert parsed.owners_of("a.md") == (OwnerMatch(("@second",), 3, None, "*.md"),)


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("!/models/ @a\n", [(1, "invalid-pattern")]),
        ("\\#notes @a\n", [(1, "invalid-pattern")]),
        ("src/[ab].py @a\n", [(1, "invalid-pattern")]),
        ("[Section]\n", [(1, "invalid-pattern")]),
        ("a/***/b @a\n", [(1, "invalid-pattern")]),
        ("/ @a\n", [(1, "invalid-pattern")]),
        ("/src/ acme-team\n", [(1, "invalid-owner")]),
        ("/src/ @acme/team @@maintainer\n", [(1, "invalid-owner")]),
        ("/src/ @-bad\n", [(1, "invalid-owner")]),
        ("*\n/src/ @a\n", [(1, "unowned-catch-all")]),
        ("/src/ @a\n\n# c\n/docs/ @b\n* @c\n", [(5, "catch-all-overrides")]),
        ("/src/ @a\n*\n", [(2, "unowned-catch-all"), (2, "catch-all-overrides")]),
        ("* @a\n/src/ @b\n/src/x\n", []),
    ],
)
def test_github_errors(text: str, errors: list[tuple[int, str]]) -> None:
    assert [(p.line, p.kind) for p in parse(text, GITHUB).errors] == errors


@pytest.mark.parametrize("platform", [GITHUB, GITLAB])
def test_overlong_line_is_reported_and_skipped(platform: str) -> None:
    parsed = parse("/" + "x" * 20_000 + " @a\n* @b\n", platform)
    assert [(p.line, p.kind, len(p.text)) for p in parsed.errors] == [(1, "too-long", 201)]
    assert [e.line for e in parsed.entries] == [2]


def test_catch_all_message_names_only_the_lines_it_overrides() -> None:
    [problem] = parse("/a/ @x\n/b/ @y\n* @z\n/c/ @w\n", GITHUB).errors
    assert problem.message == ("catch-all `*` comes after 2 other line(s); the last match wins, "
                               "so lines 1, 2 never apply")


def test_github_invalid_lines_are_skipped() -> None:
    parsed = parse("* @a\n!/docs/ @b\n/src/ bad\n", GITHUB)
    assert parsed.owners_of("docs/x") == (OwnerMatch(("@a",), 1, None, "*"),)
    assert parsed.owners_of("src/x") == (OwnerMatch(("@a",), 1, None, "*"),)


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("[Docs\n/docs/ @a\n", [(1, "invalid-section")]),
        ("[]\n/docs/ @a\n", [(1, "invalid-section")]),
        ("[Docs][x]\n/docs/ @a\n", [(1, "invalid-section")]),
        ("^[Docs][2]\n/docs/ @a\n", [(1, "invalid-section")]),
        ("[Docs]@a\n/docs/ @a\n", [(1, "invalid-section")]),
        ("[Docs] team\n/docs/ @a\n", [(1, "invalid-owner")]),
        ("/docs/\n", [(1, "missing-owner")]),
        ("[Docs]\n/docs/\n", [(2, "missing-owner")]),
        ("/docs/ @a # comment\n", [(1, "invalid-owner")]),
        ("/src/ @a\n* @b\n[S]\n* @c\n", [(2, "catch-all-overrides")]),
        ("[Docs][2] @a\n^[Opt] @@developer\n/x/ @group/sub/team user@example.com\n!/x/y/\n", []),
    ],
)
def test_gitlab_errors(text: str, errors: list[tuple[int, str]]) -> None:
    assert [(p.line, p.kind) for p in parse(text, GITLAB).errors] == errors


def test_gitlab_unparsable_header_does_not_start_a_section() -> None:
    parsed = parse("[Docs\n/docs/ @a\n", GITLAB)
    assert parsed.owners_of("docs/x") == (OwnerMatch(("@a",), 2, None, "/docs/"),)


@pytest.mark.parametrize(
    ("owner", "platform", "valid"),
    [
        ("@octocat", GITHUB, True),
        ("@acme/ml-model-owners", GITHUB, True),
        ("dev@acme.example", GITHUB, True),
        ("@acme/sub/team", GITHUB, False),
        ("@@maintainer", GITHUB, False),
        ("octocat", GITHUB, False),
        ("@acme/sub/team", GITLAB, True),
        ("@@maintainer", GITLAB, True),
        ("@@owners", GITLAB, True),
        ("@@admin", GITLAB, False),
        ("#", GITLAB, False),
    ],
)
def test_owner_syntax(owner: str, platform: str, valid: bool) -> None:
    assert valid_owner(owner, platform) is valid


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x02 @a\n",
        "a" * 200_000 + " @x\n",
        "*" * 10_000 + "\n",
        "[" * 5000 + "\n^[\n[][]\n",
        "\ufeff* @a\r\n\u2028 /x/ @b\n",
        "\\\n\\ \n! @a\n",
    ],
)
@pytest.mark.parametrize("platform", [GITHUB, GITLAB])
def test_garbage_never_raises(text: str, platform: str) -> None:
    parsed = parse(text, platform)
    parsed.owners_of("a/b/c.txt")
    assert all(p.line >= 1 and len(p.text) <= 201 for p in parsed.errors)


@pytest.mark.parametrize(
    ("files", "platform", "used", "chosen", "ignored"),
    [
        (["CODEOWNERS", ".github/CODEOWNERS"], "github", ".github/CODEOWNERS", "github", ["CODEOWNERS"]),
        (["docs/CODEOWNERS", "CODEOWNERS"], "github", "CODEOWNERS", "github", ["docs/CODEOWNERS"]),
        ([".gitlab/CODEOWNERS"], "github", None, "github", [".gitlab/CODEOWNERS"]),
        (["CODEOWNERS", ".github/CODEOWNERS"], "gitlab", "CODEOWNERS", "gitlab", [".github/CODEOWNERS"]),
        ([".gitlab/CODEOWNERS", "docs/CODEOWNERS"], "gitlab", "docs/CODEOWNERS", "gitlab", [".gitlab/CODEOWNERS"]),
        ([".gitlab/CODEOWNERS"], "local", ".gitlab/CODEOWNERS", "gitlab", []),
        (["docs/CODEOWNERS"], "local", "docs/CODEOWNERS", "github", []),
        ([], "local", None, "github", []),
    ],
)
def test_find_file(tmp_path: Path, files: list[str], platform: str, used: str | None, chosen: str,
                   ignored: list[str]) -> None:
    checkout = make_checkout(tmp_path, {**{f: "* @a\n" for f in files}, "README.md": "x"})
    found = find_file(checkout, platform)
    assert (found.path, found.platform, [p for p, _ in found.ignored]) == (used, chosen, ignored)


def test_local_section_syntax_means_gitlab(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"CODEOWNERS": "* @a\n\n[Models][2] @ml\n/models/\n"})
    found = find_file(checkout, "local")
    assert found.platform == "gitlab"
    assert found.platform_reason == ("local run: CODEOWNERS:3 is a [Section] header, which only GitLab understands")
