"""CODEOWNERS with GitHub and GitLab semantics: where the file is, how it parses, who owns a path.

GitHub reads the first of ``.github/``, the root and ``docs/``; the last matching line wins and a line without
owners unowns. Patterns are gitignore-like without ``!``, ``[ ]`` or ``\\#``: a leading or inner ``/`` anchors,
a single name matches at any depth, a trailing ``/`` means a directory, and a pattern naming a directory owns
everything below it, except that a final ``/*`` matches direct children only.

GitLab reads the first of the root, ``docs/`` and ``.gitlab/``. Lines before any ``[Section]`` form one unnamed
section; every section is evaluated on its own (last match within it), so one path can have several owner sets.
Patterns follow Ruby ``File.fnmatch`` with ``FNM_PATHNAME | FNM_DOTMATCH`` after GitLab's normalisation:
no leading ``/`` means ``/**/`` in front, a trailing ``/`` means ``**/*`` behind, and ``*`` alone is everything.

Simple patterns match as regular expressions; a pattern with many wildcards is matched segment by segment with a
linear wildcard matcher instead, so no CODEOWNERS line can make matching backtrack without end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from annexa.errors import UnreadableFile

if TYPE_CHECKING:
    from annexa.collect.checkout import Checkout

GITHUB = "github"
GITLAB = "gitlab"

LOCATIONS: dict[str, tuple[str, ...]] = {
    GITHUB: (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"),
    GITLAB: ("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"),
}
"""Where each platform looks for CODEOWNERS, in its order; the first file found is the one used."""

ALL_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")

MAX_BYTES = 3 * 1024 * 1024
"""GitHub does not load a CODEOWNERS file of 3 MB or more; annexa reads no more than that on either platform."""

_SNIPPET = 200
"""Longest piece of a CODEOWNERS line kept in evidence."""

MAX_LINE = 16384
"""Longer lines are reported and skipped rather than parsed: no real pattern and owner list comes close."""

_SECTION_START = re.compile(r"\^?\[")
_SECTION = re.compile(r"(\^)?\[([^\]]*)\](?:\[([^\]]*)\])?(.*)\Z", re.DOTALL)
_GITHUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_GITHUB_OWNER = re.compile(rf"@{_GITHUB_NAME}(?:/[A-Za-z0-9_.-]+)?\Z")
_GITLAB_OWNER = re.compile(r"@[A-Za-z0-9_.][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*\Z")
_GITLAB_ROLE = re.compile(r"@@(?:developer|maintainer|owner)s?\Z", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[A-Za-z0-9-]+\Z")


@dataclass(frozen=True)
class Problem:
    """One bad CODEOWNERS line: 1-based line number, a short kind, what is wrong, and (a piece of) the line."""

    line: int
    kind: str
    message: str
    text: str


@dataclass(frozen=True)
class Pattern:
    """A compiled path pattern: segments matched against a path prefix, and how the rest of the path may go.

    ``tail`` is ``exact`` (the segments consume the whole path), ``or_below`` (the path or anything below a
    directory it names) or ``below`` (strictly below a directory it names). ``**`` is a segment matching zero or
    more path segments.
    """

    segments: tuple[str, ...]
    tail: str
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    """The same pattern as a regular expression, when it is simple enough that one cannot backtrack for long."""
    literal: str | None = field(default=None, compare=False, repr=False)
    """The segments joined, when none has a wildcard or escape: matched by string comparison (no regex to
    compile; a 3 MB CODEOWNERS of plain paths parses in a second)."""

    @property
    def catch_all(self) -> bool:
        """True when the pattern matches every file."""
        return (self.segments == ("**", "*") and self.tail == "exact") or (self.segments == () and self.tail == "below")

    def matches(self, path: str) -> bool:
        """True when the repository-relative ``path`` is matched."""
        if self.literal is not None:
            if self.tail == "exact":
                return path == self.literal
            below = path.startswith(self.literal) and path[len(self.literal) : len(self.literal) + 1] == "/"
            return below or (self.tail == "or_below" and path == self.literal)
        if self.regex is not None:
            return self.regex.match(path) is not None
        parts = path.split("/")
        reach = {0}
        for seg in self.segments:
            if not reach:
                return False
            if seg == "**":
                reach = set(range(min(reach), len(parts) + 1))
            else:
                reach = {k + 1 for k in reach if k < len(parts) and _segment_match(seg, parts[k])}
        if self.tail == "exact":
            return len(parts) in reach
        if self.tail == "below":
            return any(k < len(parts) for k in reach)
        return any(k > 0 for k in reach)


@dataclass(frozen=True)
class Section:
    """A GitLab ``[Section]`` header line (several headers with one name, in any case, form one section)."""

    name: str
    line: int
    optional: bool
    approvals: int
    default_owners: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One rule line: its pattern as written and compiled, owners, section (``None`` before any), and flags."""

    line: int
    pattern: str
    compiled: Pattern
    owners: tuple[str, ...]
    section: str | None = None
    optional: bool = False
    approvals: int = 0
    exclusion: bool = False


@dataclass(frozen=True)
class OwnerMatch:
    """The line that decides a path's owners (in one GitLab section). No owners: the line unowns the path."""

    owners: tuple[str, ...]
    line: int
    section: str | None
    pattern: str
    optional: bool = False
    approvals: int = 0


@dataclass(frozen=True)
class CodeOwners:
    """A parsed CODEOWNERS file. ``entries`` are the usable rule lines in file order; ``errors`` the bad lines."""

    platform: str
    entries: tuple[Entry, ...]
    sections: tuple[Section, ...] = ()
    errors: tuple[Problem, ...] = ()
    _by_section: tuple[tuple[str | None, tuple[Entry, ...]], ...] = field(default=(), repr=False)

    def owners_of(self, path: str) -> tuple[OwnerMatch, ...]:
        """The deciding line for ``path``: at most one on GitHub, at most one per section on GitLab.

        An empty tuple means no line matches the path at all.
        """
        found: list[OwnerMatch] = []
        first = path.split("/", 1)[0]
        for (name, entries), (by_first, others, exclusions) in zip(self._by_section, self._index, strict=True):
            last = max((_last_match(by_first.get(first, ()), path), _last_match(others, path)),
                       key=lambda e: -1 if e is None else e.line)
            if last is None or last.exclusion:
                continue
            if any(e.compiled.matches(path) for e in exclusions):
                continue
            optional = all(e.optional for e in entries) if self.platform == GITLAB else False
            found.append(OwnerMatch(last.owners, last.line, name, last.pattern, optional, last.approvals))
        return tuple(found)


    @cached_property
    def _index(self) -> tuple[tuple[dict[str, tuple[Entry, ...]], tuple[Entry, ...], tuple[Entry, ...]], ...]:
        """Per section: plain-path entries by their first segment, the other entries, and the exclusions.

        A path can only be matched by the plain entries under its own first segment, so a CODEOWNERS of
        150,000 plain paths is searched in a few comparisons per path, not 150,000.
        """
        out = []
        for _name, entries in self._by_section:
            by_first: dict[str, list[Entry]] = {}
            others: list[Entry] = []
            for entry in entries:
                literal = entry.compiled.literal
                if literal is not None:
                    by_first.setdefault(literal.split("/", 1)[0], []).append(entry)
                else:
                    others.append(entry)
            out.append(({k: tuple(v) for k, v in by_first.items()}, tuple(others),
                        tuple(e for e in entries if e.exclusion)))
        return tuple(out)


def _last_match(entries: tuple[Entry, ...], path: str) -> Entry | None:
    """The last of ``entries`` (in file order) whose pattern matches ``path``."""
    return next((e for e in reversed(entries) if e.compiled.matches(path)), None)


@dataclass(frozen=True)
class CodeOwnersFile:
    """Which CODEOWNERS the platform reads, and the files it does not read (with why)."""

    platform: str
    platform_reason: str
    path: str | None
    ignored: tuple[tuple[str, str], ...] = ()


def _segment_match(pattern: str, name: str) -> bool:
    """Glob-match one path segment (``*``, ``?``, ``[...]``, ``\\`` escapes) in linear time, never backtracking."""
    if not any(c in pattern for c in "*?[\\"):
        return pattern == name
    tokens = _tokens(pattern)
    ti = ni = 0
    star_ti, star_ni = -1, 0
    while ni < len(name):
        if ti < len(tokens) and tokens[ti] == "*":
            star_ti, star_ni = ti, ni
            ti += 1
        elif ti < len(tokens) and _one(tokens[ti], name[ni]):
            ti += 1
            ni += 1
        elif star_ti >= 0:
            star_ni += 1
            ti, ni = star_ti + 1, star_ni
        else:
            return False
    while ti < len(tokens) and tokens[ti] == "*":
        ti += 1
    return ti == len(tokens)


@dataclass(frozen=True)
class _Class:
    """A ``[...]`` character class: inclusive code point ranges, possibly negated."""

    negate: bool
    ranges: tuple[tuple[str, str], ...]

    def has(self, char: str) -> bool:
        return any(lo <= char <= hi for lo, hi in self.ranges) != self.negate


_Token = str | _Class


@lru_cache(maxsize=4096)
def _tokens(pattern: str) -> tuple[_Token, ...]:
    """Split a segment glob into ``*``, ``?``, escaped literal characters (``\\c``) and ``[...]`` classes."""
    out: list[_Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not out or out[-1] != "*":
                out.append("*")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append("\\" + pattern[i])
        elif c == "[" and (end := _class_end(pattern, i)) > 0:
            out.append(_char_class(pattern[i + 1 : end]))
            i = end
        else:
            out.append("?" if c == "?" else "\\" + c)
        i += 1
    return tuple(out)


def _char_class(body: str) -> _Class:
    """Parse the inside of ``[...]``: a leading ``!`` or ``^`` negates, ``a-z`` is a range, ``\\`` escapes."""
    negate = body[:1] in ("!", "^")
    chars: list[str] = []
    i = 1 if negate else 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            i += 1
        chars.append(body[i])
        i += 1
    ranges: list[tuple[str, str]] = []
    j = 0
    while j < len(chars):
        if j + 2 < len(chars) and chars[j + 1] == "-":
            ranges.append((chars[j], chars[j + 2]))
            j += 3
        else:
            ranges.append((chars[j], chars[j]))
            j += 1
    return _Class(negate, tuple(ranges))


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``, or -1."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i
        i += 1
    return -1


def _one(token: _Token, char: str) -> bool:
    """True when a single-character token matches ``char``."""
    if isinstance(token, _Class):
        return token.has(char)
    return token == "?" or token[1] == char


@lru_cache(maxsize=8192)
def compile_github(pattern: str) -> Pattern:
    """Compile a GitHub CODEOWNERS pattern (gitignore rules as GitHub applies them)."""
    segs = pattern.split("/")
    if segs[0] == "":
        segs = segs[1:]
    elif (len(segs) == 1 or (len(segs) == 2 and segs[1] == "")) and segs[0] != "**":
        segs = ["**", *segs]
    if len(segs) > 1 and segs[-1] == "":
        segs[-1] = "**"
    if segs and segs[-1] == "**":
        return _pattern(tuple(segs[:-1]), "below")
    return _pattern(tuple(segs), "exact" if segs and segs[-1] == "*" else "or_below")


@lru_cache(maxsize=8192)
def compile_gitlab(pattern: str) -> Pattern:
    """Compile a GitLab CODEOWNERS pattern (GitLab's normalisation, then ``File.fnmatch`` path semantics)."""
    if pattern.startswith("\\#"):
        pattern = pattern[1:]
    if pattern == "*":
        pattern = "/**/*"
    if not pattern.startswith("/"):
        pattern = "/**/" + pattern
    if pattern.endswith("/"):
        pattern += "**/*"
    segs = pattern[1:].split("/")
    if segs[-1] == "**":
        segs[-1] = "*"
    return _pattern(tuple(segs), "exact")


_MAX_REGEX_STARS = 2
"""More ``*`` than this in one segment, or more ``**`` segments, and matching uses the linear segment matcher."""


def _pattern(segments: tuple[str, ...], tail: str) -> Pattern:
    """A ``Pattern`` with its regular expression when that is safe from runaway backtracking."""
    globstars = segments.count("**")
    if segments and not globstars and not any(c in seg for seg in segments for c in "*?[\\"):
        return Pattern(segments, tail, literal="/".join(segments))
    stars = max((sum(t == "*" for t in _tokens(s)) for s in segments if s != "**"), default=0)
    if globstars > _MAX_REGEX_STARS or stars > _MAX_REGEX_STARS:
        return Pattern(segments, tail)
    out = "".join("(?:[^/]+/)*" if seg == "**" else _segment_regex(seg) + "/" for seg in segments)
    open_end = not segments or segments[-1] == "**"
    if not open_end:
        out = out[:-1]
    if tail == "exact":
        out += r"\Z"
    elif tail == "or_below":
        out += r"(?:/.*)?\Z"
    else:
        out += ".+" if open_end else "/.+"
    return Pattern(segments, tail, re.compile(out, re.DOTALL))


def _segment_regex(segment: str) -> str:
    """One segment glob as a regular expression that never crosses ``/``."""
    out: list[str] = []
    for token in _tokens(segment):
        if isinstance(token, _Class):
            ranges = "".join(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}"
                             for lo, hi in token.ranges if lo <= hi)
            if not ranges:
                out.append("[^/]" if token.negate else "(?!)")
            else:
                out.append(f"[^/{ranges}]" if token.negate else f"(?!/)[{ranges}]")
        elif token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(token[1]))
    return "".join(out)


def valid_owner(owner: str, platform: str) -> bool:
    """True when ``owner`` is syntactically an owner on the platform: ``@user``, ``@org/team`` or an email.

    GitLab also accepts nested groups (``@group/sub/team``) and roles (``@@maintainer``).
    """
    if _EMAIL.match(owner):
        return True
    if platform == GITLAB:
        return bool(_GITLAB_OWNER.match(owner) or _GITLAB_ROLE.match(owner))
    return bool(_GITHUB_OWNER.match(owner))


def _split(line: str) -> list[str]:
    """Whitespace-separated fields; a backslash keeps the next character (an escaped space) in its field."""
    if "\\" not in line:
        return line.split()
    fields: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if c.isspace():
            if current:
                fields.append("".join(current))
                current = []
        else:
            current.append(c)
        i += 1
    if current:
        fields.append("".join(current))
    return fields


def _unescape_spaces(pattern: str) -> str:
    return re.sub(r"\\(\s)", r"\1", pattern)


def _snippet(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def parse(text: str, platform: str) -> CodeOwners:
    """Parse CODEOWNERS ``text`` with the semantics of ``platform`` (``github`` or ``gitlab``)."""
    if platform == GITLAB:
        return _parse_gitlab(text)
    return _parse_github(text)


def _lines(text: str, errors: list[Problem]) -> Iterable[tuple[int, str]]:
    """Non-blank, non-comment lines, stripped, numbered on ``\\n`` as the platforms do; overlong ones to ``errors``."""
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if len(line) > MAX_LINE:
            errors.append(Problem(number, "too-long", f"line of {len(line):,} characters; not parsed",
                                  _snippet(line)))
        elif line and not line.startswith("#"):
            yield number, line


def _parse_github(text: str) -> CodeOwners:
    entries: list[Entry] = []
    errors: list[Problem] = []
    for number, line in _lines(text, errors):
        fields = _split(re.split(r"\s#", line, maxsplit=1)[0])
        pattern, owners = fields[0], tuple(fields[1:])
        problem = _github_pattern_problem(pattern)
        bad = [o for o in owners if not valid_owner(o, GITHUB)]
        if problem:
            errors.append(Problem(number, "invalid-pattern", problem, _snippet(line)))
        elif bad:
            errors.append(Problem(number, "invalid-owner", f"not a GitHub owner (@user, @org/team or email): "
                                  f"{', '.join(_snippet(b) for b in bad[:5])}", _snippet(line)))
        else:
            entries.append(Entry(number, pattern, compile_github(_unescape_spaces(pattern)), owners))
    errors.extend(_catch_all_problems(entries, GITHUB))
    return CodeOwners(GITHUB, tuple(entries), (), tuple(sorted(errors, key=lambda p: p.line)),
                      ((None, tuple(entries)),))


def _github_pattern_problem(pattern: str) -> str | None:
    """Why GitHub rejects or never matches ``pattern``, or ``None``."""
    if pattern.startswith("!"):
        return "`!` negation is not supported on GitHub; the line is ignored"
    if pattern.startswith("\\#"):
        return "escaping a leading `#` with `\\` is not supported on GitHub; the line is ignored"
    if "[" in pattern or "]" in pattern:
        return "`[ ]` character ranges are not supported on GitHub; the line is ignored"
    if "***" in pattern:
        return "a pattern cannot contain three consecutive asterisks"
    if pattern == "/":
        return "`/` matches no file"
    return None


def _parse_gitlab(text: str) -> CodeOwners:
    entries: list[Entry] = []
    errors: list[Problem] = []
    sections: list[Section] = []
    names: dict[str, str] = {}
    current: Section | None = None
    for number, line in _lines(text, errors):
        snippet = _snippet(line)
        if _SECTION_START.match(line):
            section, problems = _gitlab_section(line, number, names)
            errors.extend(Problem(number, kind, msg, snippet) for kind, msg in problems)
            if section is not None:
                current = section
                sections.append(section)
            continue
        fields = _split(line)
        pattern, owners = fields[0], tuple(fields[1:])
        exclusion = pattern.startswith("!")
        if exclusion:
            pattern = pattern[1:]
        bad = [o for o in owners if not valid_owner(o, GITLAB)]
        if bad:
            errors.append(Problem(number, "invalid-owner", "not a GitLab owner (@user, @group/subgroup, @@role or "
                                  f"email): {', '.join(_snippet(b) for b in bad[:5])}", snippet))
        if owners:
            # GitLab falls back to the section's default owners only when the line names none at all
            owners = tuple(o for o in owners if o not in bad)
        elif current is not None:
            owners = current.default_owners
        if not owners and not bad and not exclusion:
            errors.append(Problem(number, "missing-owner", "no owners, and the section has no default owners",
                                  snippet))
        if not pattern:
            errors.append(Problem(number, "invalid-pattern", "`!` without a pattern", snippet))
            continue
        entries.append(Entry(
            number, fields[0], compile_gitlab(_unescape_spaces(pattern)), () if exclusion else owners,
            current.name if current else None,
            current.optional if current else False,
            current.approvals if current else 0,
            exclusion,
        ))
    by_section: dict[str | None, dict[Pattern, Entry]] = {None: {}}
    for entry in entries:
        by_section.setdefault(entry.section, {})[entry.compiled] = entry
    grouped = tuple((name, tuple(kept.values())) for name, kept in by_section.items())
    for _, kept_entries in grouped:
        errors.extend(_catch_all_problems(list(kept_entries), GITLAB))
    return CodeOwners(GITLAB, tuple(entries), tuple(sections), tuple(sorted(errors, key=lambda p: p.line)), grouped)


MAX_APPROVAL_DIGITS = 9
"""Longest approval count read from a GitLab section header (``[Section][N]``); longer is a problem, not a number."""


def _gitlab_section(line: str, number: int, names: dict[str, str]) -> tuple[Section | None, list[tuple[str, str]]]:
    """Parse a GitLab section header line; the section (``None`` if unparsable) and its problems."""
    match = _SECTION.match(line)
    if not match:
        return None, [("invalid-section", "unparsable section header; GitLab skips the line")]
    optional, raw_name, raw_approvals, rest = match.groups()
    problems: list[tuple[str, str]] = []
    name = raw_name.strip()
    if not name:
        problems.append(("invalid-section", "section header without a name"))
    approvals = 0
    if raw_approvals is not None:
        digits = raw_approvals.strip()
        if not (digits.isascii() and digits.isdigit()):  # GitLab reads ASCII digits only (not '²' or '٣')
            problems.append(("invalid-section", f"approval count [{_snippet(raw_approvals)}] is not a number"))
        elif len(digits.lstrip("0")) > MAX_APPROVAL_DIGITS:
            problems.append(("invalid-section", f"approval count [{_snippet(raw_approvals)}] cannot be met "
                                                f"(more than {MAX_APPROVAL_DIGITS} digits)"))
        else:
            approvals = int(digits)
            if optional and approvals > 0:
                problems.append(("invalid-section", "an optional section (^) cannot require approvals"))
    if rest and not rest[0].isspace():
        problems.append(("invalid-section", "default owners must be separated from the header by a space"))
    owners = tuple(rest.split())
    bad = [o for o in owners if not valid_owner(o, GITLAB)]
    if bad:
        problems.append(("invalid-owner", "not a GitLab owner (@user, @group/subgroup, @@role or email): "
                                          f"{', '.join(_snippet(b) for b in bad[:5])}"))
    canonical = names.setdefault(name.casefold(), name)
    valid = tuple(o for o in owners if o not in bad)
    return Section(canonical, number, bool(optional), approvals, valid), problems


def _catch_all_problems(entries: list[Entry], platform: str) -> list[Problem]:
    """The last catch-all of one scope: without owners (GitHub), or after other lines, which then never apply."""
    rules = [e for e in entries if not e.exclusion]
    last = next((i for i in range(len(rules) - 1, -1, -1) if rules[i].compiled.catch_all), None)
    if last is None:
        return []
    entry, pattern = rules[last], _snippet(rules[last].pattern)
    problems: list[Problem] = []
    if not entry.owners and platform == GITHUB:
        problems.append(Problem(entry.line, "unowned-catch-all", f"catch-all `{pattern}` has no owners: every file "
                                "no later line matches is left without a code owner", pattern))
    if last:
        where = f" in section [{entry.section}]" if entry.section else ""
        shown = ", ".join(str(e.line) for e in rules[: min(last, 10)]) + (", …" if last > 10 else "")
        problems.append(Problem(entry.line, "catch-all-overrides", f"catch-all `{pattern}` comes after {last} other "
                                f"line(s){where}; the last match wins, so lines {shown} never apply", pattern))
    return problems


def _section_line(text: str) -> int | None:
    """The first line that is a GitLab ``[Section]`` header, if any."""
    for number, line in _lines(text, []):
        if _SECTION.match(line) and not line.startswith("[]"):
            return number
    return None


def find_file(checkout: Checkout, platform: str) -> CodeOwnersFile:
    """The CODEOWNERS ``platform`` reads in ``checkout`` and the ones it ignores.

    On ``local`` the platform is decided from the checkout: a ``.gitlab/CODEOWNERS`` or a ``[Section]`` header
    means GitLab, otherwise GitHub; ``platform_reason`` says which and why.
    """
    files = set(checkout.files())
    present = [p for p in ALL_LOCATIONS if p in files]
    if platform in LOCATIONS:
        chosen, reason = platform, f"the run is on {_NAME[platform]}"
    else:
        chosen, reason = _detect(checkout, present)
    used = next((p for p in LOCATIONS[chosen] if p in present), None)
    ignored: list[tuple[str, str]] = []
    for path in present:
        if path == used:
            continue
        if path in LOCATIONS[chosen]:
            why = f"{_NAME[chosen]} reads only the first CODEOWNERS it finds, and {used} comes first"
        else:
            why = f"{_NAME[chosen]} never reads {path} (it reads {', '.join(LOCATIONS[chosen])})"
        ignored.append((path, why))
    return CodeOwnersFile(chosen, reason, used, tuple(ignored))


_NAME = {GITHUB: "GitHub", GITLAB: "GitLab"}


def _detect(checkout: Checkout, present: list[str]) -> tuple[str, str]:
    """Guess the platform of a local checkout from where CODEOWNERS is and its syntax."""
    if ".gitlab/CODEOWNERS" in present:
        return GITLAB, "local run: .gitlab/CODEOWNERS exists, a location only GitLab reads"
    for path in present:
        try:
            text = checkout.read_text(path, MAX_BYTES)
        except UnreadableFile:
            continue
        line = _section_line(text)
        if line is not None:
            return GITLAB, f"local run: {path}:{line} is a [Section] header, which only GitLab understands"
    return GITHUB, "local run: no GitLab-only location or [Section] syntax, so GitHub semantics"
