"""Every gettext call of the project is one the catalog extraction reads.

babel's extractor finds a message by the name just before the opening bracket (`_`, `gettext`,
`ngettext`, `N_`) followed by string literals. It does not see a call inside an f-string, a call
through another name (`t = gettext_for(lang); t("Hi")`, `gettext_for(lang)("Hi")`), nor a
message built at run time (`_("Lots " + n)`, `_(f"…")`); such messages never reach the catalogs
and are shown in English to French members. This test walks the syntax tree of every source file
outside tests/ and names each such call.

A call may also pass a reference (a name, attribute or item: `_(question.prompt)`,
`_(FAMILIES[key])`) holding a message declared elsewhere with `N_("…")`; whether each one is
really marked is checked at run time, by the French-screen tests (tests/screens.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from locales.catalogs import KEYWORDS, PACKAGES, extract

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"tests", "build", "dist", "node_modules", "__pycache__"}
# Functions that return a translating function: `_ = gettext_for(lang)`, `_ = tr(update, ctx)`.
TRANSLATOR_FACTORIES = {"gettext_for": "gettext", "ngettext_for": "ngettext", "tr": "gettext"}
SINGULAR, PLURAL = "gettext", "ngettext"
# Files known to break the rule while they are being rewritten: {"path": "reason"} (strict:
# the mark must go as soon as the file is clean).
PENDING: dict[str, str] = {}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def project_sources(root: Path = ROOT) -> list[Path]:
    """Every .py file of the project outside tests/, virtualenvs and build folders."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p in SKIPPED_DIRS or p.startswith(".") or p.endswith(".egg-info")
               for p in parts[:-1]):
            continue
        found.append(path)
    return found


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Scanner(ast.NodeVisitor):
    """Collects the translation calls of one module: (call, kind, seen by the extractor)."""

    def __init__(self) -> None:
        self.calls: list[tuple[ast.Call, str, bool, bool]] = []  # call, kind, seen, in f-string
        self.marks: list[ast.Call] = []  # N_(…)
        self._scopes: list[dict[str, str]] = [{}]  # names bound to a translator, per function
        self._fstring_depth = 0

    # names bound by `x = gettext_for(lang)` / `x = tr(update, context)` in the current scope
    def _translator_kind(self, func: ast.expr) -> str | None:
        name = _call_name(func)
        if isinstance(func, ast.Name):
            for scope in reversed(self._scopes):
                if name in scope:
                    return scope[name]
        if name in (SINGULAR, PLURAL) or name == "_":
            return PLURAL if name == PLURAL else SINGULAR
        if isinstance(func, ast.Call) and _call_name(func.func) in TRANSLATOR_FACTORIES:
            return TRANSLATOR_FACTORIES[_call_name(func.func)]
        return None

    def visit_FunctionDef(self, node) -> None:
        self._scopes.append({})
        self.generic_visit(node)
        self._scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call) and _call_name(value.func) in TRANSLATOR_FACTORIES:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._scopes[-1][target.id] = TRANSLATOR_FACTORIES[_call_name(value.func)]
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._fstring_depth += 1
        self.generic_visit(node)
        self._fstring_depth -= 1

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "N_":
            self.marks.append(node)
        else:
            kind = self._translator_kind(node.func)
            if kind:
                seen = _call_name(node.func) in KEYWORDS
                self.calls.append((node, kind, seen, self._fstring_depth > 0))
        self.generic_visit(node)


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_reference(node: ast.expr) -> bool:
    """A message declared elsewhere with N_(): a name, an attribute, an item of a table, or a
    lookup in a table with a marked default (`TABLE.get(key, TABLE["other"])`)."""
    if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        return True
    if not isinstance(node, ast.Call):
        return False
    if isinstance(node.func, ast.Name) and node.func.id == "N_":
        return len(node.args) == 1 and _is_literal(node.args[0])
    if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
            _is_reference(node.func.value) and 1 <= len(node.args) <= 2 and not node.keywords:
        return len(node.args) == 1 or _is_reference(node.args[1])
    return False


def scan_source(source: str, path: str) -> tuple[list[Problem], list[tuple[int, str]]]:
    """The problems of one module, and the (line, msgid) of the literals its calls translate."""
    scanner = _Scanner()
    scanner.visit(ast.parse(source, filename=path))
    problems: list[Problem] = []
    literals: list[tuple[int, str]] = []
    for call, kind, seen, in_fstring in scanner.calls:
        shown = ast.unparse(call)[:80]
        arguments = call.args[:2] if kind == PLURAL else call.args[:1]
        if in_fstring:
            problems.append(Problem(path, call.lineno, f"translated inside an f-string: {shown}"))
        elif not all(_is_literal(a) or _is_reference(a) for a in arguments):
            problems.append(Problem(
                path, call.lineno,
                f"translated text built at run time (not a literal nor an N_-marked "
                f"constant): {shown}"))
        elif not seen and any(_is_literal(a) for a in arguments):
            problems.append(Problem(
                path, call.lineno,
                f"the extractor does not read this call (bind `_ = gettext_for(lang)` "
                f"or `ngettext = ngettext_for(lang)` first): {shown}"))
        else:
            literals += [(call.lineno, a.value) for a in arguments if _is_literal(a)]
    for mark in scanner.marks:
        if not mark.args or not _is_literal(mark.args[0]):
            problems.append(Problem(path, mark.lineno,
                                    f"N_() marks only a literal: {ast.unparse(mark)[:80]}"))
        else:
            literals.append((mark.lineno, mark.args[0].value))
    return problems, literals


@pytest.fixture(scope="module")
def extracted() -> set[tuple[str, str]]:
    """(file, msgid) of every message the catalog extraction finds."""
    found = set()
    for message in extract():
        for filename, _line in message.locations:
            found.add((filename, message.id if isinstance(message.id, str) else message.id[0]))
            if not isinstance(message.id, str):
                found.add((filename, message.id[1]))
    return found


def _params():
    for path in project_sources():
        relative = path.relative_to(ROOT).as_posix()
        marks = [pytest.mark.xfail(strict=True, reason=PENDING[relative])] \
            if relative in PENDING else []
        yield pytest.param(relative, marks=marks, id=relative)


@pytest.mark.parametrize("relative", list(_params()))
def test_every_gettext_call_is_extracted(relative, extracted):
    problems, literals = scan_source((ROOT / relative).read_text(encoding="utf-8"), relative)
    if literals and relative.split("/")[0] not in PACKAGES:
        problems.append(Problem(relative, literals[0][0],
                                "this package is not in locales.catalogs.PACKAGES"))
    else:
        problems += [Problem(relative, line, f"not in the extracted catalog: {msgid[:60]!r}")
                     for line, msgid in literals if (relative, msgid) not in extracted]
    assert not problems, "\n".join(map(str, problems))


# --- the scanner itself ------------------------------------------------------------------------

BAD = '''
from locales import N_, gettext_for, ngettext_for
def f(lang, n, word):
    _ = gettext_for(lang)
    t = gettext_for(lang)
    a = f"<b>{_('Why this tender:')}</b>"
    b = _("Lots " + str(n))
    c = _(f"Hello {word}")
    d = t("Seen by nobody")
    e = gettext_for(lang)("Nor this")
    g = ngettext_for(lang)("one lot", "{n} lots", n)
    h = N_(word)
    i = _("x {a}".format(a=1))
    j = _(TABLE.get(word, "Unmarked default"))
'''

GOOD = '''
from locales import N_, gettext_for, ngettext_for
TABLE = {"a": N_("Apple")}
def f(lang, n, key, question):
    _ = gettext_for(lang)
    ngettext = ngettext_for(lang)
    title = _("Why this tender:")
    lines = [f"<b>{title}</b>", _(TABLE[key]), _(question.prompt),
             _(TABLE.get(key, TABLE["a"]))]
    lines.append(ngettext("one lot", "{n} lots", n).format(n=n))
    return lines
'''


def test_scanner_names_each_unreadable_call():
    problems, _literals = scan_source(BAD, "x.py")
    lines = sorted(p.line for p in problems)
    assert lines == [6, 7, 8, 9, 10, 11, 12, 13, 14], "\n".join(map(str, problems))
    assert "f-string" in next(p.what for p in problems if p.line == 6)


def test_scanner_accepts_literals_and_marked_references():
    problems, literals = scan_source(GOOD, "x.py")
    assert not problems, "\n".join(map(str, problems))
    assert {m for _l, m in literals} == {"Apple", "Why this tender:", "one lot", "{n} lots"}
