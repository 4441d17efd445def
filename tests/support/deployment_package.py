"""The deployment package as the two tools that build it would: azd and Azure Functions Core Tools.

Neither binary runs here (no .NET, no Go toolchain, no Azure login); each tool's file selection is
ported from its maintainers' source, small enough to read side by side with it:

* azd: `createDeployableZip` in Azure/azure-dev cli/azd/pkg/project/project_utils.go walks the folder
  with rzip.CreateFromDirectory (cli/azd/pkg/rzip/rzip.go: an excluded folder is not entered) and drops
  a `.azure` folder, the ignore file itself and, for a function app, `local.settings.json`, then asks
  denormal/go-gitignore (`gitignore.New(...).Absolute(path, isDir)`) about every entry. The ignore file
  is `.funcignore` for a function app (service_target.go `IgnoreFile`); azd reads no `.gitignore`, and
  its own defaults (.venv, __pycache__) apply only when there is no ignore file. `azd_package` ports
  go-gitignore's matching (pattern.go, gitignore.go `Relative`: the last matching line decides);
  `pathspec_package` builds the same walk with pathspec's git rules, as a second opinion.
* Core Tools: `FileSystemHelpers.GetLocalFiles` (src/Cli/func/Common/FileSystemHelpers.cs) lists every
  file except under `.git`/`.vscode` and the files `.funcignore`, `.gitignore`, `local.settings.json`,
  `project.lock.json` (names compared case-insensitively at any depth), then keeps a file when
  `GitIgnoreParser.Accepts` (src/Cli/func/Common/GitIgnoreParser.cs) says so; `CoreToolsIgnore` ports
  that class (its regular expressions are built the same way, character for character).

Unported (fail closed: `UnportedPattern`): escapes (`\\`), character classes (`[...]`), trailing
spaces, which the two ports might read differently from the real libraries. Symbolic links are not
followed (the repository has none).
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

IGNORE_FILE = ".funcignore"


class UnportedPattern(ValueError):
    """A .funcignore line using syntax the ports below do not reproduce faithfully."""


def _check_ported(line: str) -> None:
    components = line.lstrip("!/").split("/")
    if "\\" in line or "[" in line or line != line.strip() or any("**" in part and part != "**" for part in components):
        raise UnportedPattern(
            f"{IGNORE_FILE}: {line!r} uses syntax this test does not port (escape, "
            "character class, surrounding space or `**` inside a name); keep to names, "
            "`/`, `*`, `**` and `!`"
        )


# --- azd: denormal/go-gitignore -------------------------------------------------------------------


def _fnmatch(pattern: str, name: str, *, pathname: bool) -> bool:
    """danwakefield/fnmatch (go-gitignore's matcher): `*`/`?` cross `/` unless FNM_PATHNAME."""
    if not pathname:
        return fnmatch.fnmatchcase(name, pattern)
    regex = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name) is not None


@dataclass(frozen=True)
class _GoPattern:
    """One line as go-gitignore's NewPattern reads it (pattern.go): `name` (no inner `/`), `path`
    (an inner `/`: matched against the whole relative path, FNM_PATHNAME) or `any` (has `**`,
    matched component by component, `**` taking zero or more components)."""

    kind: str
    negated: bool
    anchored: bool
    directory: bool
    glob: str

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.directory and not is_dir:
            return False
        if self.kind == "name":
            # pattern.go name.Match: anchored -> the whole path, flags 0; else only the last component
            return _fnmatch(self.glob, path if self.anchored else path.rsplit("/", 1)[-1], pathname=False)
        if self.kind == "path":
            return _fnmatch(self.glob, path, pathname=True)
        return _match_any(path.split("/"), [t for t in self.glob.split("/") if t])


def _match_any(parts: list[str], tokens: list[str]) -> bool:
    """pattern.go any.match."""
    if not tokens:
        return not parts
    if tokens[0] == "**":
        return _match_any(parts, tokens[1:]) or (bool(parts) and _match_any(parts[1:], tokens))
    return bool(parts) and _fnmatch(tokens[0], parts[0], pathname=True) and _match_any(parts[1:], tokens[1:])


def _go_pattern(line: str) -> _GoPattern:
    negated = line.startswith("!")
    body = line[1:] if negated else line
    anchored = body.startswith("/")
    body = body[1:] if anchored else body
    directory = body.endswith("/")
    body = body[:-1] if directory else body
    kind = "any" if "**" in body else "path" if "/" in body else "name"
    return _GoPattern(kind, negated, anchored, directory, body)


def _lines(text: str) -> Iterator[str]:
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        _check_ported(line)
        yield line


class GoGitIgnore:
    """denormal/go-gitignore's `GitIgnore.Relative`: the last pattern that matches decides."""

    def __init__(self, text: str) -> None:
        self.patterns = [_go_pattern(line) for line in _lines(text)]

    def ignores(self, path: str, is_dir: bool) -> bool:
        for pattern in reversed(self.patterns):
            if pattern.matches(path, is_dir):
                return not pattern.negated
        return False


def _walk_pruning(root: Path, excluded: Callable[[str, str, bool], bool]) -> set[str]:
    """rzip.CreateFromDirectory: entries in order, a folder that is excluded is not entered."""
    shipped: set[str] = set()

    def visit(folder: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            relative = f"{prefix}{entry.name}"
            is_dir = entry.is_dir(follow_symlinks=False)
            if excluded(entry.name, relative, is_dir):
                continue
            if is_dir:
                visit(Path(entry.path), relative + "/")
            else:
                shipped.add(relative)

    visit(root, "")
    return shipped


def _azd_own_exclusions(name: str, is_dir: bool) -> bool:
    """project_utils.go onZip, before the ignore file: `.azure`, the ignore file, local.settings.json."""
    return (
        (name == ".azure" and is_dir)
        or (name == IGNORE_FILE and not is_dir)
        or (name == "local.settings.json" and not is_dir)
    )


def azd_package(root: Path, funcignore: str) -> set[str]:
    """The files `azd deploy` zips for a function app service whose project is `root`."""
    ignore = GoGitIgnore(funcignore)
    return _walk_pruning(
        root, lambda name, rel, is_dir: _azd_own_exclusions(name, is_dir) or ignore.ignores(rel, is_dir)
    )


def pathspec_package(root: Path, funcignore: str) -> set[str]:
    """azd's walk with pathspec's git rules instead of the go-gitignore port (a cross-check of the port)."""
    spec = pathspec.GitIgnoreSpec.from_lines(list(_lines(funcignore)))
    return _walk_pruning(
        root,
        lambda name, rel, is_dir: _azd_own_exclusions(name, is_dir) or spec.match_file(rel + "/" if is_dir else rel),
    )


# --- Core Tools: GitIgnoreParser.cs ---------------------------------------------------------------


def _prepare_regex_pattern(pattern: str) -> str:
    """GitIgnoreParser.PrepareRegexPattern: escape -[]/{}()+?.\\^$| , then ** -> (.+), * -> ([^\\/]+)."""
    escaped = re.sub(r"[\-\[\]/{}()+?.\\^$|]", lambda m: "\\" + m.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", "([^\\/]+)")


class CoreToolsIgnore:
    """GitIgnoreParser: lines trimmed, `#` lines and blank lines dropped, `!` lines are the negative
    list, one leading `/` removed; each list becomes `^((p1)|(p2)...)\\b` (ECMAScript: `\\b` is the
    ASCII word boundary, hence re.ASCII). `Accepts(path)` = negative matches or positive does not.
    (The C# sorts each list and also builds a `PreparePartialRegex` that `Accepts` never uses: neither
    changes whether a path matches.)"""

    def __init__(self, text: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in text.split("\n"):
            line = raw.strip()
            if line.startswith("#") or not line:
                continue
            _check_ported(raw.rstrip("\r"))
            target = negative if line.startswith("!") else positive
            line = line[1:] if line.startswith("!") else line
            line = line[1:] if line.startswith("/") else line
            target.append(line)
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str]:
        if not patterns:
            return re.compile("$^")
        return re.compile("^((" + ")|(".join(_prepare_regex_pattern(p) for p in sorted(patterns)) + "))\\b", re.ASCII)

    def accepts(self, path: str) -> bool:
        return bool(self._negative.search(path)) or not self._positive.search(path)


_CORE_TOOLS_SKIPPED_DIRS = {".git", ".vscode"}
_CORE_TOOLS_SKIPPED_FILES = {".funcignore", ".gitignore", "local.settings.json", "project.lock.json"}


def core_tools_package(root: Path, funcignore: str) -> set[str]:
    """The files `func azure functionapp publish` zips (FileSystemHelpers.GetLocalFiles; the built
    .python_packages it adds itself are not part of the source tree)."""
    parser = CoreToolsIgnore(funcignore)
    shipped: set[str] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d.lower() not in _CORE_TOOLS_SKIPPED_DIRS]
        for name in files:
            if name.lower() in _CORE_TOOLS_SKIPPED_FILES:
                continue
            relative = Path(folder, name).relative_to(root).as_posix()
            if parser.accepts(relative):
                shipped.add(relative)
    return shipped


PACKAGERS: dict[str, Callable[[Path, str], set[str]]] = {
    "azd": azd_package,
    "core-tools": core_tools_package,
}


# --- what the app needs -------------------------------------------------------------------------


def _module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(root: Path, source: Path) -> str:
    return ".".join(source.relative_to(root).parts[:-1])


def imported_modules(root: Path, entry: str = "function_app.py") -> set[str]:
    """Every file of the repository that `entry` imports, transitively: every `import` statement in
    each module (at module level, inside functions, under TYPE_CHECKING alike, since the app imports
    adapters on first use), each dotted name with its parent packages, and `from p import m` where m
    is a module of p. Imports of modules outside the repository (installed packages) are not followed."""
    found: set[str] = set()
    pending = [root / entry]
    while pending:
        source = pending.pop()
        relative = source.relative_to(root).as_posix()
        if relative in found:
            continue
        found.add(relative)
        package = _package_of(root, source)
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), filename=relative)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package.split(".") if package else []
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                else:
                    base = node.module or ""
                names = [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]
            for dotted in names:
                parts = dotted.split(".")
                for depth in range(1, len(parts) + 1):
                    module = _module_file(root, ".".join(parts[:depth]))
                    if module is not None:
                        pending.append(module)
    return found


def data_files_of(root: Path, modules: set[str]) -> set[str]:
    """Files other than Python next to the imported modules (shared/core/reference/*.json, read with
    open() beside the module): the package needs them as much as the code. Documentation excepted."""
    folders = {Path(m).parent for m in modules if "/" in m}
    return {
        (folder / path.name).as_posix()
        for folder in folders
        for path in (root / folder).iterdir()
        if path.is_file() and path.suffix not in {".py", ".pyc", ".md"}
    }
