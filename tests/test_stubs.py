"""Every compiled module has a ``.pyi`` stub, and the stub cannot drift from the module.

The stubs are parsed with ``ast`` and compared with the imported extension modules, both ways:

* every public name of a module (its own, not re-exported imports) is in its stub;
* every member of a class the stub declares, underscored ones included, is in the stub's class
  (``DatasetBase``'s underscored members are its contract with ``dataset.Dataset``), as are the
  protocol methods the class defines (``__len__``, ``__get__``, ...);
* everything the stub declares exists, except type aliases, which exist only for type checkers;
* the parameters of every function and method agree (names, kinds, defaults) wherever the
  compiled function exposes its signature.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from package import compiled_modules, package_dir

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = package_dir()
COMPILED = compiled_modules()

# Dunder methods a stub must show when the class defines them: they are how users use the class.
PROTOCOL = {
    "__init__", "__len__", "__getitem__", "__iter__", "__contains__", "__call__",
    "__get__", "__set__", "__delete__", "__enter__", "__exit__",
}


def _is_type_alias(node: ast.AnnAssign) -> bool:
    ann = node.annotation
    name = ann.attr if isinstance(ann, ast.Attribute) else getattr(ann, "id", None)
    return name == "TypeAlias"


def _decorators(node: ast.FunctionDef) -> set[str]:
    names = set()
    for dec in node.decorator_list:
        if isinstance(dec, ast.Attribute):
            names.add(dec.attr)
        elif isinstance(dec, ast.Name):
            names.add(dec.id)
    return names


class Stub:
    """The names a stub declares: module level, and per class."""

    def __init__(self, path: Path):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.names: set[str] = set()
        self.aliases: set[str] = set()
        self.functions: dict[str, ast.FunctionDef] = {}
        self.classes: dict[str, dict[str, ast.AST]] = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                self.names.add(node.name)
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.names.add(node.name)
                self.classes[node.name] = self._members(node)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.names.add(node.target.id)
                if _is_type_alias(node):
                    self.aliases.add(node.target.id)
            elif isinstance(node, ast.Assign):
                self.names.update(t.id for t in node.targets if isinstance(t, ast.Name))

    @staticmethod
    def _members(cls: ast.ClassDef) -> dict[str, ast.AST]:
        members: dict[str, ast.AST] = {}
        for node in cls.body:
            if isinstance(node, ast.FunctionDef):
                if "overload" in _decorators(node):
                    members.setdefault(node.name, None)   # several signatures: not compared
                else:
                    members[node.name] = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                members[node.target.id] = node
            elif isinstance(node, ast.Assign):
                members.update((t.id, node) for t in node.targets if isinstance(t, ast.Name))
        return members


def _load(name: str):
    module = importlib.import_module(f"dicomfast.{name}")
    path = PACKAGE.joinpath(*name.split(".")).with_suffix(".pyi")
    assert path.exists(), f"dicomfast/{name}.pyx has no stub: add dicomfast/{name}.pyi"
    return module, Stub(path)


def _own_public_names(module) -> set[str]:
    """Public names defined by the module itself, not imported into it."""
    out = set()
    for name, obj in vars(module).items():
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        if (inspect.isclass(obj) or callable(obj)) and getattr(obj, "__module__", None) != module.__name__:
            continue    # a re-export (errors imported for raising), documented where it is defined
        out.add(name)
    return out


def _class_members(cls: type) -> set[str]:
    names = set()
    for name in vars(cls):
        if name.startswith("__") and name.endswith("__"):
            if name in PROTOCOL:
                names.add(name)
        elif not name.startswith("__pyx"):
            names.add(name)
    return names


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").exists()


@pytest.mark.parametrize("name", COMPILED)
def test_stub_declares_every_public_name(name):
    module, stub = _load(name)
    missing = sorted(_own_public_names(module) - stub.names)
    assert not missing, f"dicomfast/{name}.pyi lacks: {missing}"


@pytest.mark.parametrize("name", COMPILED)
def test_stub_declares_every_class_member(name):
    module, stub = _load(name)
    problems = {}
    for cls_name, members in stub.classes.items():
        cls = getattr(module, cls_name, None)
        if not inspect.isclass(cls):
            continue    # reported by test_stub_declares_nothing_that_does_not_exist
        missing = sorted(_class_members(cls) - set(members))
        if missing:
            problems[cls_name] = missing
    assert not problems, f"dicomfast/{name}.pyi classes lack: {problems}"


@pytest.mark.parametrize("name", COMPILED)
def test_stub_declares_nothing_that_does_not_exist(name):
    module, stub = _load(name)
    extra = sorted(n for n in stub.names - stub.aliases if not hasattr(module, n))
    for cls_name, members in stub.classes.items():
        cls = getattr(module, cls_name, None)
        if inspect.isclass(cls):
            extra += [f"{cls_name}.{m}" for m in sorted(members) if not hasattr(cls, m)]
    assert not extra, f"dicomfast/{name}.pyi declares what dicomfast.{name} does not have: {extra}"


def _stub_parameters(node: ast.FunctionDef) -> list[tuple[str, str, object]]:
    """(name, kind, default) per parameter; the default is ``...`` when the stub elides it."""
    a = node.args
    out = []
    positional = [*a.posonlyargs, *a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults)):
        kind = "POSITIONAL_ONLY" if i < len(a.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        out.append((arg.arg, kind, default))
    if a.vararg:
        out.append((a.vararg.arg, "VAR_POSITIONAL", None))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "KEYWORD_ONLY", default))
    if a.kwarg:
        out.append((a.kwarg.arg, "VAR_KEYWORD", None))
    return [(n, k, _literal(d)) for n, k, d in out]


class _Required:
    def __repr__(self) -> str:
        return "<no default>"


_NO_DEFAULT = _Required()


def _literal(node):
    if node is None:
        return _NO_DEFAULT
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ...


def _same_default(runtime, declared) -> bool:
    if declared is ...:
        return runtime is not _NO_DEFAULT
    return type(runtime) is type(declared) and runtime == declared


def _runtime_parameters(func) -> list[tuple[str, str, object]] | None:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None     # a C slot wrapper's generic (*args, **kwargs): nothing to compare
    return [(p.name, p.kind.name, _NO_DEFAULT if p.default is p.empty else p.default)
            for p in params]


def _signature_pairs(module, stub: Stub):
    for fname, node in stub.functions.items():
        yield fname, getattr(module, fname, None), node
    for cls_name, members in stub.classes.items():
        cls = getattr(module, cls_name, None)
        for mname, node in members.items():
            if (isinstance(node, ast.FunctionDef) and not mname.startswith("__")
                    and not {"property", "overload"} & _decorators(node)):
                yield f"{cls_name}.{mname}", getattr(cls, mname, None), node


@pytest.mark.parametrize("name", COMPILED)
def test_stub_signatures_match(name):
    module, stub = _load(name)
    problems = []
    for qualname, func, node in _signature_pairs(module, stub):
        if func is None:
            continue    # reported by test_stub_declares_nothing_that_does_not_exist
        runtime = _runtime_parameters(func)
        if runtime is None:
            continue
        declared = _stub_parameters(node)
        same = len(runtime) == len(declared) and all(
            r[:2] == d[:2] and _same_default(r[2], d[2]) for r, d in zip(runtime, declared))
        if not same:
            problems.append(f"{qualname}: module {runtime}, stub {declared}")
    assert not problems, f"dicomfast/{name}.pyi signatures differ:\n" + "\n".join(problems)
