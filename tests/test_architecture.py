"""The house plan (docs/architecture.md) holds: no import circle, every class where core wants it.

Both are read from the code itself, so a new module or class is checked without touching this file.
"""

import ast
from collections.abc import Iterator
import importlib
import inspect
from pathlib import Path
from types import ModuleType

from homeassistant.const import Platform
from homeassistant.helpers.entity import Entity, EntityDescription
import pytest

PACKAGE = "custom_components.nezha"
INTEGRATION = Path(__file__).resolve().parent.parent / "custom_components" / "nezha"
PLATFORMS = {platform.value for platform in Platform}


def module_name(path: Path) -> str:
    """``custom_components.nezha.coordinator.base`` for ``coordinator/base.py``."""
    parts = path.relative_to(INTEGRATION).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def modules() -> dict[str, Path]:
    """Every module of the integration by its dotted name."""
    return {module_name(path): path for path in sorted(INTEGRATION.rglob("*.py"))}


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The integration's modules that ``name`` imports, ``TYPE_CHECKING`` blocks included.

    ``from .api import Server`` is an edge to ``api``; ``from .api import stream`` (a submodule)
    one to ``api.stream``.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target not in known:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in known else target


def import_graph() -> dict[str, set[str]]:
    """Module -> the integration's modules it imports."""
    known = modules()
    return {name: set(imported(name, path, known)) - {name} for name, path in known.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            if (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_import_graph_has_no_cycle() -> None:
    """No module imports itself back, even in a ``TYPE_CHECKING`` block."""
    graph = import_graph()
    assert len(graph) > 20  # the scan found the package's modules
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or ())


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a circle of three and a module importing itself are found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_coordinators_import_neither_entities_nor_runtime_data() -> None:
    """The layers point one way: coordinators below entities and the entry's runtime data."""
    graph = import_graph()
    above = {f"{PACKAGE}.{name}" for name in ("data", "entity", "entity_tracking", *PLATFORMS)}
    assert f"{PACKAGE}.data" in graph[f"{PACKAGE}.entity"]  # edges are read
    for name, targets in graph.items():
        if name.startswith(f"{PACKAGE}.coordinator") or name.endswith((".live", ".state")):
            assert not targets & above, name


def loaded_modules() -> Iterator[ModuleType]:
    for name in modules():
        yield importlib.import_module(name)


def expected_module(cls: type) -> str | None:
    """Where core's ``hass-enforce-class-module`` rule wants ``cls``: its platform, else entity.

    A class deriving from a platform's entity or description (``SensorEntity``,
    ``BinarySensorEntityDescription``, …) belongs in that platform's module; any other entity or
    entity description class in ``entity.py``. ``None``: the rule says nothing of it.
    """
    for ancestor in inspect.getmro(cls)[1:]:
        parts = ancestor.__module__.split(".")
        if parts[:2] == ["homeassistant", "components"] and parts[2] in PLATFORMS:
            return parts[2]
    if issubclass(cls, Entity | EntityDescription):
        return "entity"
    return None


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (type("Fake", (EntityDescription,), {}), "entity"),
        (type("Fake", (object,), {}), None),
    ],
)
def test_expected_module_reads_the_rule(cls: type, expected: str | None) -> None:
    """The rule as this test reads it, on classes made up for it."""
    assert expected_module(cls) == expected


def test_every_entity_class_lives_where_core_wants_it() -> None:
    """Sensor classes in sensor.py, binary sensors in binary_sensor.py, base entities in entity.py."""
    checked = 0
    for module in loaded_modules():
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            if (expected := expected_module(cls)) is None:
                continue
            checked += 1
            assert module.__name__.rpartition(".")[2] == expected, (
                f"{cls.__name__} is in {module.__name__}, core wants it in {expected}.py"
            )
    assert checked >= 20  # every entity and description class, not an empty scan
