"""The package's architecture rules, checked on its source (parsed with ast, never imported).

1. No import cycle among nmfkit's modules, counting imports at module level and inside
   functions alike (a lazy import that closes a cycle is still a cycle).
2. No module over MAX_LINES lines of code, docstrings not counted (LONG_MODULES lists the
   exceptions, each with a reason).
3. No private name crosses a subpackage: neither `from ..x import _name`, nor an import of
   a module whose own name starts with an underscore, nor `module._name` through an imported
   module. A subpackage is the first component below nmfkit (core, kernels, solvers, losses,
   estimator, distributed, rank, apps, cli) or a top-level module.
4. nmfkit.__all__ is exactly PUBLIC_NAMES.
5. Every .py and .pyi file (and py.typed) under src/nmfkit is installed by
   src/nmfkit/meson.build, else the wheel misses it.

Each check is a function of the package directory that returns its findings, so that the
tests at the end can run it on a copy of the tree with a planted fault.
"""

import ast
import re
import shutil
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "nmfkit"
if not PACKAGE_DIR.is_dir():  # tests run against an installed wheel, without the sources
    pytest.skip("the source tree src/nmfkit is not here", allow_module_level=True)

MAX_LINES = 400
# "nmfkit/<path>.py": "why it may be longer". Keep it empty: a module that needs an entry
# here is a module to split.
LONG_MODULES = {}

PUBLIC_NAMES = [
    "NMF", "MiniBatchNMF", "nmf", "non_negative_factorization", "spa", "ConvergenceWarning",
    "NotFittedError", "InvalidParameterError", "HAVE_OPENMP", "effective_n_threads",
    "__version__", "rank_survey", "RankSurvey", "rank_cv", "RankCV", "top_terms",
    "document_topics", "make_topic_corpus", "parts_grid", "swimmer", "make_low_rank",
    "plot_history", "plot_parts", "plot_consensus", "plot_rank_survey",
    "hoyer_sparseness", "feature_scores", "extract_features", "assign_clusters", "plot_factors",
]


# -- reading the tree ------------------------------------------------------------------------

def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def source_files(pkg_dir, suffix=".py"):
    return sorted(p for p in Path(pkg_dir).rglob("*" + suffix) if "__pycache__" not in p.parts)


def module_name(pkg_dir, path):
    """nmfkit/core/matrix.py -> 'nmfkit.core.matrix'; nmfkit/core/__init__.py -> 'nmfkit.core'."""
    parts = [Path(pkg_dir).name, *Path(path).relative_to(pkg_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules(pkg_dir):
    """Every importable module of the package: .py files and compiled (.pyx) modules."""
    return {module_name(pkg_dir, p) for ext in (".py", ".pyx") for p in source_files(pkg_dir, ext)}


def subpackage(module):
    """The unit that owns a module: 'core' for nmfkit.core.matrix, 'datasets' for
    nmfkit.datasets, 'nmfkit' for the package's own __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _resolve(modules, name):
    """The longest prefix of a dotted name that is a module of the package (None: outside)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def imports(pkg_dir):
    """Every import of a package module by a package module, at any depth of the code.

    Yields (source, target, names, line, in_function): `names` are the names a from-import
    takes from target (empty when it binds target itself, a module).
    """
    pkg_dir = Path(pkg_dir)
    modules = known_modules(pkg_dir)
    for path in source_files(pkg_dir):
        source = module_name(pkg_dir, path)
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, in_function in _walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _resolve(modules, alias.name)
                    if target:
                        yield source, target, (), node.lineno, in_function
            elif isinstance(node, ast.ImportFrom):
                base = _from_module(package, node)
                if _resolve(modules, base) is None:
                    continue
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    if child in modules:  # `from . import matrix`: the module itself
                        yield source, child, (), node.lineno, in_function
                    else:
                        target = _resolve(modules, base)
                        yield source, target, (alias.name,), node.lineno, in_function


def _from_module(package, node):
    """The absolute name of the module of `from <module> import ...` in `package`."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    parts = parts[:len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def _walk(tree):
    """(node, inside a function or not) for every node of a module."""
    stack = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        yield node, in_function
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.Lambda))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


# -- the checks: each returns a list of findings (empty: the rule holds) ----------------------

def import_cycles(pkg_dir):
    """One finding per strongly connected group of modules, with one cycle's path."""
    graph, where = {}, {}
    for source, target, _, line, in_function in imports(pkg_dir):
        if source == target:
            continue
        graph.setdefault(source, set()).add(target)
        where.setdefault((source, target), f"line {line}" + (" in a function" if in_function
                                                              else ""))
    findings = []
    for group in _strongly_connected(graph):
        if len(group) > 1:
            path = _cycle_through(graph, group, min(group))
            steps = [f"{a} ({where[a, b]}) -> " for a, b in zip(path, path[1:])]
            findings.append("import cycle: " + "".join(steps) + path[-1])
    return findings


def _strongly_connected(graph):
    """Tarjan's strongly connected components of a {node: set of nodes} graph."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _cycle_through(graph, group, start):
    """The shortest path start -> ... -> start within group (breadth first)."""
    parent, frontier = {start: None}, [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    path = [node]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if nxt in group and nxt not in parent:
                    parent[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def code_lines(text):
    """The lines of a module that are not docstrings (of the module, classes and functions):
    numpydoc docstrings with their examples may be long; the code is what must stay short."""
    tree = ast.parse(text)
    docs = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                docs += body[0].end_lineno - body[0].lineno + 1
    return len(text.splitlines()) - docs


def long_modules(pkg_dir, max_lines=MAX_LINES, allowed=None):
    allowed = LONG_MODULES if allowed is None else allowed
    findings, seen = [], set()
    for path in source_files(pkg_dir):
        key = Path(pkg_dir).name + "/" + path.relative_to(pkg_dir).as_posix()
        n_lines = code_lines(path.read_text())
        if key in allowed:
            seen.add(key)
            if n_lines <= max_lines:
                findings.append(f"{key}: {n_lines} lines now; remove it from LONG_MODULES")
        elif n_lines > max_lines:
            findings.append(f"{key}: {n_lines} lines (at most {max_lines})")
    findings += [f"{key}: in LONG_MODULES but not in the tree" for key in set(allowed) - seen]
    return findings


def private_imports(pkg_dir):
    """Private names and private modules reached from another subpackage."""
    pkg_dir = Path(pkg_dir)
    findings = []
    for source, target, names, line, _ in imports(pkg_dir):
        if subpackage(source) == subpackage(target):
            continue
        hidden = [part for part in target.split(".")[1:] if _is_private(part)]
        if hidden:
            findings.append(f"{source} line {line}: imports the private module {target}")
        findings += [f"{source} line {line}: imports the private name {target}.{name}"
                     for name in names if _is_private(name)]
    return sorted(findings + _private_attributes(pkg_dir))


def _private_attributes(pkg_dir):
    """`alias._name` where alias is a module of another subpackage bound by an import."""
    modules = known_modules(pkg_dir)
    findings = []
    for path in source_files(pkg_dir):
        source = module_name(pkg_dir, path)
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        bound = {}  # local name -> dotted module name
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                base = _from_module(package, node)
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:
                        bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
                continue
            chain, value = [], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if not isinstance(value, ast.Name) or value.id not in bound:
                continue
            target = ".".join([bound[value.id], *reversed(chain)])
            if target in modules and subpackage(target) != subpackage(source):
                findings.append(f"{source} line {node.lineno}: uses the private name "
                                f"{target}.{node.attr}")
    return findings


def public_names(pkg_dir, expected=None):
    """nmfkit.__all__ (a literal list in __init__.py) against the expected names."""
    expected = PUBLIC_NAMES if expected is None else expected
    init = Path(pkg_dir) / "__init__.py"
    tree = ast.parse(init.read_text(), filename=str(init))
    found = None
    bound = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            try:
                found = ast.literal_eval(node.value)
            except ValueError:
                return ["__all__ is not a literal list of names"]
        for target in getattr(node, "targets", ()):
            bound.add(getattr(target, "id", None))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
    if found is None:
        return ["nmfkit/__init__.py defines no __all__"]
    findings = []
    if sorted(found) != sorted(expected):
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        findings.append(f"__all__ changed: missing {missing}, new {extra}"
                        + (", a name listed twice" if len(found) != len(set(found)) else ""))
    findings += [f"__all__ names {name!r}, which __init__.py does not define"
                 for name in found if name not in bound]
    return findings


def meson_misses(pkg_dir):
    """Files of the package (.py, .pyi, py.typed) that meson.build does not install, and
    files it lists that do not exist."""
    pkg_dir = Path(pkg_dir)
    text = re.sub(r"#[^\n]*", "", (pkg_dir / "meson.build").read_text())
    installed, findings = set(), []
    calls = re.finditer(r"install_sources\(\s*\[(.*?)\]\s*,\s*subdir\s*:\s*'([^']*)'", text,
                        re.DOTALL)
    for call in calls:
        for entry in re.findall(r"'([^']+)'", call.group(1)):
            installed.add(f"{call.group(2)}/{Path(entry).name}")
            if not (pkg_dir / entry).is_file():
                findings.append(f"meson.build lists {entry}, which does not exist")
    wanted = [*source_files(pkg_dir), *source_files(pkg_dir, ".pyi"), pkg_dir / "py.typed"]
    for path in wanted:
        key = pkg_dir.name + "/" + path.relative_to(pkg_dir).as_posix()
        if path.exists() and key not in installed:
            findings.append(f"{key} is not installed by src/{pkg_dir.name}/meson.build")
    return findings


# -- the rules on the real tree ----------------------------------------------------------------

def assert_none(findings):
    if findings:
        pytest.fail("\n".join(findings), pytrace=False)


def test_no_import_cycles():
    assert_none(import_cycles(PACKAGE_DIR))


def test_no_module_over_max_lines():
    assert_none(long_modules(PACKAGE_DIR))


def test_no_private_name_imported_across_subpackages():
    assert_none(private_imports(PACKAGE_DIR))


def test_public_names_unchanged():
    assert_none(public_names(PACKAGE_DIR))


def test_every_module_is_installed_by_meson():
    assert_none(meson_misses(PACKAGE_DIR))


# -- each check catches its fault, planted in a copy of the tree --------------------------------

@pytest.fixture
def tree(tmp_path):
    """A copy of src/nmfkit (sources only) to plant faults in."""
    root = tmp_path / "nmfkit"
    shutil.copytree(PACKAGE_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return root


def plant(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def new_findings(check, root, fault):
    """The findings that planting `fault` (a function of root) adds."""
    before = set(check(root))
    fault(root)
    return set(check(root)) - before


def test_cycle_check_finds_planted_cycles(tree):
    def fault(root):
        # two modules of core, one import inside a function
        plant(root, "core/planted_a.py", "from . import planted_b\n")
        plant(root, "core/planted_b.py", "def f():\n    from .planted_a import x\n")
        # three subpackages, three spellings: absolute, `from .. import`, `import a.b`
        plant(root, "apps/planted_c.py", "from nmfkit.rank.planted_d import y\n")
        plant(root, "rank/planted_d.py", "from ..cli import planted_e\n")
        plant(root, "cli/planted_e.py", "import nmfkit.apps.planted_c\n")

    found = new_findings(import_cycles, tree, fault)
    assert len(found) == 2, found
    text = "\n".join(sorted(found))
    assert ("nmfkit.core.planted_a (line 1) -> nmfkit.core.planted_b (line 2 in a function) "
            "-> nmfkit.core.planted_a") in text
    assert ("nmfkit.apps.planted_c (line 1) -> nmfkit.rank.planted_d (line 1) -> "
            "nmfkit.cli.planted_e (line 1) -> nmfkit.apps.planted_c") in text


def test_line_check_finds_a_planted_long_module(tree):
    def fault(root):
        plant(root, "core/planted_long.py", "x = 1\n" * (MAX_LINES + 1))
        plant(root, "core/planted_ok.py", "x = 1\n" * MAX_LINES)
        # docstrings do not count: 5 docstring lines + MAX_LINES - 1 of code is fine
        plant(root, "core/planted_doc.py", '"""a\n\nb\n\nc"""\n' + "x = 1\n" * (MAX_LINES - 1))

    found = new_findings(long_modules, tree, fault)
    assert found == {f"nmfkit/core/planted_long.py: {MAX_LINES + 1} lines (at most {MAX_LINES})"}
    # an exception that is no longer needed, or names no module, is a finding too
    allowed = {"nmfkit/core/planted_ok.py": "test", "nmfkit/gone.py": "test"}
    assert {f"nmfkit/core/planted_ok.py: {MAX_LINES} lines now; remove it from LONG_MODULES",
            "nmfkit/gone.py: in LONG_MODULES but not in the tree"} <= set(
        long_modules(tree, allowed=allowed))


def test_private_check_finds_planted_imports(tree):
    def fault(root):
        plant(root, "solvers/_planted_hidden.py", "thing = 1\n")
        plant(root, "solvers/planted_open.py", "_secret = 1\npublic = 2\n")
        plant(root, "apps/planted_user.py", "\n".join([
            "from ..solvers.planted_open import _secret",             # 1: private name
            "from ..solvers import _planted_hidden",                   # 2: private module
            "from nmfkit.solvers._planted_hidden import thing",        # 3: in a private module
            "from ..solvers import planted_open as po",
            "po._secret",                                              # 5: through the module
            "def f():",
            "    import nmfkit.solvers.planted_open",
            "    return nmfkit.solvers.planted_open._secret",           # 8: in a function
            "from ..solvers.planted_open import public, __doc__",     # fine: public, dunder
            "from .planted_mate import _shared",                      # fine: same subpackage
        ]) + "\n")
        plant(root, "apps/planted_mate.py", "_shared = 1\n")

    found = new_findings(private_imports, tree, fault)
    user = "nmfkit.apps.planted_user"
    assert found == {
        f"{user} line 1: imports the private name nmfkit.solvers.planted_open._secret",
        f"{user} line 2: imports the private module nmfkit.solvers._planted_hidden",
        f"{user} line 3: imports the private module nmfkit.solvers._planted_hidden",
        f"{user} line 5: uses the private name nmfkit.solvers.planted_open._secret",
        f"{user} line 8: uses the private name nmfkit.solvers.planted_open._secret",
    }, found


def test_public_names_check_finds_a_change(tree):
    init = tree / "__init__.py"
    assert public_names(tree) == public_names(PACKAGE_DIR)
    assert public_names(tree, expected=PUBLIC_NAMES[1:]) == [
        "__all__ changed: missing [], new ['NMF']"]
    assert public_names(tree, expected=[*PUBLIC_NAMES, "fit"]) == [
        "__all__ changed: missing ['fit'], new []"]
    init.write_text(init.read_text() + "\n__all__ = ['NMF', 'undefined_name']\n")
    found = public_names(tree)
    assert any("new ['undefined_name']" in f for f in found), found
    assert "__all__ names 'undefined_name', which __init__.py does not define" in found


def test_meson_check_finds_a_missing_entry(tree):
    def fault(root):
        build = root / "meson.build"
        text = build.read_text()
        assert "'core/params.py'," in text
        build.write_text(text.replace("'core/params.py',", "", 1)
                         .replace("'core/matrix.py',", "'core/matrix.py', 'core/gone.py',", 1))
        plant(root, "rank/planted_new.py", "")
        plant(root, "kernels/planted.pyi", "")

    found = new_findings(meson_misses, tree, fault)
    assert found == {
        "nmfkit/core/params.py is not installed by src/nmfkit/meson.build",
        "nmfkit/rank/planted_new.py is not installed by src/nmfkit/meson.build",
        "nmfkit/kernels/planted.pyi is not installed by src/nmfkit/meson.build",
        "meson.build lists core/gone.py, which does not exist",
    }, found


def test_module_names_and_subpackages():
    root = Path("/x/nmfkit")
    assert module_name(root, root / "core" / "matrix.py") == "nmfkit.core.matrix"
    assert module_name(root, root / "core" / "__init__.py") == "nmfkit.core"
    assert module_name(root, root / "__init__.py") == "nmfkit"
    assert [subpackage(m) for m in ("nmfkit.core.matrix", "nmfkit.datasets", "nmfkit")] == [
        "core", "datasets", "nmfkit"]
