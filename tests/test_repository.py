"""Repository metadata: what hassfest and the HACS action check, and a bit more, offline.

These stand in for the two GitHub actions (which need Docker and the network) so a broken
manifest, a missing translation or a stale brand image fails ``scripts/test`` first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
import importlib.util
import json
from pathlib import Path
import re
import struct
from typing import Any

from homeassistant.components.brands.const import ALLOWED_IMAGES
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.helpers.entity import EntityDescription
from homeassistant.util.yaml import load_yaml_dict
from PIL import Image
import pytest

from custom_components.nezha import binary_sensor, button, repair_issues, sensor, switch, update

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "nezha"
TRANSLATIONS = INTEGRATION / "translations"

# --- manifest.json (hassfest's CUSTOM_INTEGRATION_MANIFEST_SCHEMA and the HACS action) ---------

MANIFEST_REQUIRED = (
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
)
MANIFEST_ALLOWED = {
    *MANIFEST_REQUIRED,
    "after_dependencies",
    "bluetooth",
    "dependencies",
    "dhcp",
    "homekit",
    "import_executor",
    "loggers",
    "mqtt",
    "preview_features",
    "quality_scale",
    "single_config_entry",
    "ssdp",
    "usb",
    "zeroconf",
}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
    "virtual",
}
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

# --- hacs.json (hacs/integration utils/validate.py HACS_MANIFEST_JSON_SCHEMA, extra=PREVENT) ---

HACS_ALLOWED = {
    "name",
    "homeassistant",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "persistent_directory",
    "hacs",
    "country",
    "render_readme",
}

# --- the Integration Quality Scale (script/hassfest/quality_scale.py ALL_RULES) ---------------

QUALITY_SCALE_RULES = {
    # Bronze (20)
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow",
    "config-flow-test-coverage",
    "dependency-transparency",
    "docs-actions",
    "docs-conditions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "docs-triggers",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
    # Silver (10)
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
    # Gold (21)
    "devices",
    "diagnostics",
    "discovery",
    "discovery-update-info",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
    # Platinum (3)
    "async-dependency",
    "inject-websession",
    "strict-typing",
}

EXCEPTION_CLASSES = {
    "ConfigEntryAuthFailed",
    "ConfigEntryError",
    "ConfigEntryNotReady",
    "HomeAssistantError",
    "ServiceValidationError",
    "UpdateFailed",
}
"""Exceptions whose ``translation_key`` names an entry under ``exceptions``."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_COLOR_RGBA = 6
BRAND_SIZES = {"icon.png": 256, "icon@2x.png": 512}


def load_json(path: Path) -> Any:
    """Parse a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def leaf_paths(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every path to a non-mapping value of a nested mapping."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders of a translation string."""
    return set(re.findall(r"\{(\w+)\}", text))


def get_path(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``; KeyError if it is missing."""
    node: Any = tree
    for key in path:
        node = node[key]
    return node


def png_header(path: Path) -> tuple[int, int, int, int]:
    """Width, height, bit depth and color type from a PNG's IHDR chunk."""
    data = path.read_bytes()[:33]
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert (length, chunk) == (13, b"IHDR"), f"{path.name} has no IHDR chunk first"
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, color


def module_trees() -> Iterator[tuple[Path, ast.Module]]:
    """Every Python module of the integration, parsed."""
    for path in sorted(INTEGRATION.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments (for keys passed by name)."""
    constants: dict[str, str] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = value.value
    return constants


def call_name(node: ast.Call) -> str:
    """``Foo`` for ``Foo(...)`` and ``mod.Foo(...)``."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def translation_keys_of(calls: set[str]) -> set[tuple[str, str]]:
    """(file, key) for every ``translation_key=`` passed to the named calls in the integration."""
    found: set[tuple[str, str]] = set()
    for path, tree in module_trees():
        constants = string_constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or call_name(node) not in calls:
                continue
            for keyword in node.keywords:
                if keyword.arg != "translation_key":
                    continue
                value = keyword.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.add((path.name, value.value))
                elif isinstance(value, ast.Name) and value.id in constants:
                    found.add((path.name, constants[value.id]))
                else:
                    pytest.fail(f"{path.name}:{node.lineno}: translation_key is not a literal")
    return found


def entity_descriptions() -> dict[str, list[EntityDescription]]:
    """Every entity description of every platform, by platform."""
    return {
        "sensor": [
            *sensor.SERVER_SENSORS,
            *sensor.DASHBOARD_SENSORS,
            sensor.MONITOR_LATENCY,
            *sensor.CYCLE_SENSORS,
            *sensor.SERVICE_SENSORS,
            sensor.BILLING_EXPIRY,
            sensor.BILLING_NEVER_EXPIRES,
            sensor.CRON_LAST_RUN,
        ],
        "binary_sensor": [
            binary_sensor.ONLINE,
            binary_sensor.SERVERS_OFFLINE,
            binary_sensor.MONITOR_REACHABLE,
            binary_sensor.SERVICE_UP,
        ],
        "switch": [switch.ALERT_RULE, switch.SERVICE_NOTIFY],
        "button": [button.CRON_TASK],
        "update": [update.AGENT_UPDATE],
    }


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    """manifest.json."""
    return load_json(INTEGRATION / "manifest.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def strings() -> dict[str, Any]:
    """strings.json."""
    return load_json(INTEGRATION / "strings.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def en() -> dict[str, Any]:
    """translations/en.json."""
    return load_json(TRANSLATIONS / "en.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def zh() -> dict[str, Any]:
    """translations/zh-Hans.json."""
    return load_json(TRANSLATIONS / "zh-Hans.json")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def icons() -> dict[str, Any]:
    """icons.json."""
    return load_json(INTEGRATION / "icons.json")  # type: ignore[no-any-return]


# --- manifest.json -----------------------------------------------------------------------------


def test_manifest_has_the_required_keys_in_hassfest_order(manifest: dict[str, Any]) -> None:
    """Required keys present, no unknown key, sorted as hassfest wants: domain, name, then a-z."""
    assert set(MANIFEST_REQUIRED) <= manifest.keys()
    assert manifest.keys() <= MANIFEST_ALLOWED, manifest.keys() - MANIFEST_ALLOWED
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_values(manifest: dict[str, Any]) -> None:
    """Domain is the folder name; version semver; URLs https; sensible enums; pinned requirements."""
    assert manifest["domain"] == INTEGRATION.name
    assert SEMVER.match(manifest["version"]), manifest["version"]
    for key in ("documentation", "issue_tracker"):
        assert manifest[key].startswith("https://"), key
    assert "home-assistant.io/integrations" not in manifest["documentation"]
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["integration_type"] in INTEGRATION_TYPES
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[^=\s]+", req) for req in manifest["requirements"])


def test_pyproject_version_matches_the_manifest(manifest: dict[str, Any]) -> None:
    """One version for the release tag, the manifest and the Python project."""
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(rf'^version = "{re.escape(manifest["version"])}"$', pyproject, re.M)


# --- hacs.json ---------------------------------------------------------------------------------


def test_hacs_json() -> None:
    """Only keys the HACS action accepts; the minimum HA version is the one the tests run on."""
    hacs = load_json(REPO / "hacs.json")
    assert hacs.keys() <= HACS_ALLOWED, hacs.keys() - HACS_ALLOWED
    assert isinstance(hacs["name"], str)
    assert hacs["name"]
    assert hacs["homeassistant"] == HA_VERSION
    assert not hacs.get("content_in_root", False), "the integration is in custom_components/"
    if hacs.get("zip_release"):
        assert hacs.get("filename")


def test_repository_layout() -> None:
    """One integration folder, and the files HACS reads at the root."""
    folders = [
        path.name
        for path in (REPO / "custom_components").iterdir()
        if path.is_dir() and not path.name.startswith("__")
    ]
    assert folders == ["nezha"]
    for name in ("README.md", "hacs.json", "LICENSE"):
        assert (REPO / name).is_file(), name


def test_license_is_osi_approved() -> None:
    """LICENSE is the MIT license text (OSI-approved; the HACS action checks for one)."""
    text = " ".join((REPO / "LICENSE").read_text(encoding="utf-8").split())
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^license = "MIT"$', pyproject, re.M)


# --- brand images ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "size"), BRAND_SIZES.items())
def test_brand_icon(name: str, size: int) -> None:
    """The icon exists as a square RGBA PNG of Home Assistant's brand size."""
    width, height, depth, color = png_header(INTEGRATION / "brand" / name)
    assert (width, height) == (size, size)
    assert (depth, color) == (8, PNG_COLOR_RGBA), "transparent background needs RGBA"


def test_brand_folder_holds_only_brand_images() -> None:
    """Home Assistant serves only these names from brand/; anything else is a typo."""
    names = {path.name for path in (INTEGRATION / "brand").iterdir()}
    assert names <= ALLOWED_IMAGES, names - ALLOWED_IMAGES
    assert "icon.png" in names


def test_brand_images_are_what_make_brand_draws() -> None:
    """The committed PNGs match scripts/make_brand.py (run it after changing the drawing)."""
    spec = importlib.util.spec_from_file_location("make_brand", REPO / "scripts" / "make_brand.py")
    assert spec is not None
    assert spec.loader is not None
    make_brand = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_brand)
    for name, image in make_brand.render().items():
        with Image.open(INTEGRATION / "brand" / name) as on_disk:
            assert on_disk.convert("RGBA").tobytes() == image.tobytes(), name
    # Corners outside the rounded square are transparent, the centre is opaque.
    icon = make_brand.render()["icon.png"]
    assert icon.getpixel((0, 0))[3] == 0
    assert icon.getpixel((128, 128))[3] == 255


# --- translations ------------------------------------------------------------------------------


def test_every_translation_file_parses() -> None:
    """Every file in translations/ is a JSON object, named after a language."""
    files = sorted(TRANSLATIONS.glob("*"))
    assert {path.name for path in files} >= {"en.json", "zh-Hans.json"}
    for path in files:
        assert path.suffix == ".json", path.name
        assert re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", path.stem), path.name
        assert isinstance(load_json(path), dict), path.name


def test_strings_json_is_english_translation(strings: dict[str, Any], en: dict[str, Any]) -> None:
    """strings.json (what hassfest reads) and translations/en.json (what HA loads) are one text."""
    assert strings == en


def test_translations_have_the_same_keys_as_english(en: dict[str, Any]) -> None:
    """Every language has every English key and no other, with the same placeholders."""
    english = {path: get_path(en, path) for path in leaf_paths(en)}
    for path in sorted(TRANSLATIONS.glob("*.json")):
        if path.name == "en.json":
            continue
        other = load_json(path)
        other_leaves = {key: get_path(other, key) for key in leaf_paths(other)}
        missing = sorted(".".join(key) for key in english.keys() - other_leaves.keys())
        extra = sorted(".".join(key) for key in other_leaves.keys() - english.keys())
        assert not missing, f"{path.name} lacks {missing}"
        assert not extra, f"{path.name} has keys English doesn't: {extra}"
        for key, text in english.items():
            assert isinstance(other_leaves[key], str), f"{path.name}: {'.'.join(key)}"
            assert placeholders(other_leaves[key]) == placeholders(text), (
                f"{path.name}: placeholders of {'.'.join(key)}"
            )


def test_every_config_field_has_a_description(en: dict[str, Any]) -> None:
    """The config-flow rule: each field of each step has a data_description."""
    for section in ("config", "options"):
        for step_id, step in en[section]["step"].items():
            fields = set(step.get("data", {}))
            assert fields == set(step.get("data_description", {})), f"{section}.{step_id}"


def test_entity_translation_keys_have_names_and_icons(
    en: dict[str, Any], zh: dict[str, Any], icons: dict[str, Any]
) -> None:
    """Each translation_key has an English and a Chinese name; an icon unless its device class
    gives one (the icon-translations rule: don't override device-class icons). Only an entity
    named by its device class (Home Assistant translates that name) has no translation_key."""
    used: dict[str, set[str]] = {}
    with_icon: dict[str, set[str]] = {}
    for platform, descriptions in entity_descriptions().items():
        keys = {description.translation_key for description in descriptions}
        unnamed = [d.key for d in descriptions if d.translation_key is None]
        assert all(d.device_class is not None for d in descriptions if d.translation_key is None), (
            f"{platform} descriptions without a name: {unnamed}"
        )
        used[platform] = {key for key in keys if key is not None}
        with_icon[platform] = {
            description.translation_key
            for description in descriptions
            if description.translation_key and description.device_class is None
        }
        for key in used[platform]:
            assert en["entity"][platform][key]["name"], f"en: {platform}.{key}"
            assert zh["entity"][platform][key]["name"], f"zh-Hans: {platform}.{key}"
        for key in with_icon[platform]:
            assert icons["entity"][platform][key]["default"].startswith("mdi:"), (
                f"icons: {platform}.{key}"
            )
    # And nothing stale is left behind, nor an icon a device class already gives.
    assert {platform: set(keys) for platform, keys in en["entity"].items()} == used
    assert {platform: set(keys) for platform, keys in icons["entity"].items()} == {
        platform: keys for platform, keys in with_icon.items() if keys
    }


def test_state_icons_differ_from_the_default(icons: dict[str, Any]) -> None:
    """hassfest rejects a state icon equal to the entity's default icon."""
    for platform, entities in icons["entity"].items():
        for key, icon in entities.items():
            for state, state_icon in icon.get("state", {}).items():
                assert state_icon.startswith("mdi:")
                assert state_icon != icon["default"], f"{platform}.{key} state {state}"


def test_exception_translation_keys_exist(en: dict[str, Any]) -> None:
    """Every translation_key raised in the code has a message under ``exceptions``."""
    raised = translation_keys_of(EXCEPTION_CLASSES)
    assert raised, "found no translated exception at all: is the scan broken?"
    for file, key in sorted(raised):
        assert en["exceptions"][key]["message"], f"{file}: exceptions.{key}"


def test_repair_issue_translation_keys_exist(en: dict[str, Any]) -> None:
    """Every repair issue the code raises has a title and a description.

    All go through ``repair_issues.async_raise_issue`` (the kind is its translation key); no other
    module creates an issue of its own.
    """
    raised: set[tuple[str, str]] = set()
    for path, tree in module_trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if call_name(node) == "async_create_issue":
                assert path.name == "repair_issues.py", f"{path.name}:{node.lineno}"
            elif call_name(node) == "async_raise_issue":
                kind = node.args[2]
                assert isinstance(kind, ast.Name), f"{path.name}:{node.lineno}: kind not a name"
                raised.add((path.name, getattr(repair_issues, kind.id)))
    assert raised
    for file, key in sorted(raised):
        assert en["issues"][key]["title"], f"{file}: issues.{key}"
        assert en["issues"][key]["description"], f"{file}: issues.{key}"


# --- code structure ----------------------------------------------------------------------------


def test_api_package_never_imports_home_assistant() -> None:
    """custom_components/nezha/api stays a plain library (publishable on its own)."""
    api = INTEGRATION / "api"
    modules = sorted(api.rglob("*.py"))
    assert modules
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level == 0 else []
                # Relative imports must stay inside the package.
                assert node.level <= 1, f"{path.name}:{node.lineno} imports from outside api/"
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "homeassistant", f"{path.name}:{node.lineno}"
    assert (api / "py.typed").is_file()


# --- quality_scale.yaml ------------------------------------------------------------------------


def test_quality_scale_lists_every_rule() -> None:
    """All 54 rules, each done/exempt/todo; exempt and todo ones say why."""
    assert len(QUALITY_SCALE_RULES) == 54
    data = load_yaml_dict(INTEGRATION / "quality_scale.yaml")
    rules: dict[str, Any] = data["rules"]
    assert set(rules) == QUALITY_SCALE_RULES, set(rules) ^ QUALITY_SCALE_RULES
    for rule, value in rules.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "exempt", "todo"}, rule
        if isinstance(value, dict):
            assert value.keys() <= {"status", "comment"}, rule
        if status in {"exempt", "todo"}:
            assert isinstance(value, dict), f"{rule} is {status} without a comment"
            assert value.get("comment", "").strip(), f"{rule} is {status} without a comment"


def test_quality_scale_exemptions_match_the_code(manifest: dict[str, Any]) -> None:
    """Exempt because "no actions" / "no discovery" only while that is still true."""
    rules = load_yaml_dict(INTEGRATION / "quality_scale.yaml")["rules"]

    def status(rule: str) -> str:
        value = rules[rule]
        return value if isinstance(value, str) else str(value["status"])

    has_services = (INTEGRATION / "services.yaml").exists() or any(
        call_name(node) in {"async_register", "async_register_platform_entity_service"}
        for _, tree in module_trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    )
    if status("action-setup") == "exempt":
        assert not has_services
    discovery_keys = {"bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf"}
    if status("discovery") == "exempt":
        assert not discovery_keys & manifest.keys()
    if status("dependency-transparency") != "done":
        assert manifest["requirements"] == []


# --- the READMEs -------------------------------------------------------------------------------


@pytest.mark.parametrize("readme", ["README.md", "README.zh-Hans.md"])
def test_readme_lists_every_entity_and_option(readme: str) -> None:
    """The entity tables name every entity key, and the options table every option."""
    text = (REPO / readme).read_text(encoding="utf-8")
    for descriptions in entity_descriptions().values():
        for description in descriptions:
            # The per-GPU sensors (gpu_1_usage, gpu_2_usage, …) share one row.
            key = "gpu_N_usage" if description.translation_key == "gpu_n_usage" else description.key
            assert f"| `{key}` |" in text, key
    for option in ("scan_interval", "monitor_interval", "online_threshold", "tag"):
        assert f"（`{option}`" in text or f"(`{option}`" in text, option
    assert "`group_id`" in text
    assert "https://github.com/nezhahq/nezha" in text
    assert "v0.20.13" in text
    assert "2026.10.4" in text


@pytest.mark.parametrize(
    ("workflow", "needle"),
    [
        ("hassfest.yml", {"uses": "home-assistant/actions/hassfest@master"}),
        ("validate.yml", {"uses": "hacs/action@main", "with": {"category": "integration"}}),
        ("tests.yml", {"name": "Run the test command", "run": "scripts/test"}),
    ],
)
def test_github_workflows(workflow: str, needle: dict[str, Any]) -> None:
    """The published repository's checks: each workflow runs on push and PR with its key step."""
    document = load_yaml_dict(REPO / ".github" / "workflows" / workflow)
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    steps = [step for job in document["jobs"].values() for step in job["steps"]]
    assert {"uses": "actions/checkout@v4"} in steps
    assert needle in steps
