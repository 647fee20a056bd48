"""The house plan, checked on the source: no SQL driver outside adapters (and the infrastructure
in shared/), no web framework in domain or application, nothing of a service's outer layers in
its domain (issue 14)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "domain").is_dir())
DRIVERS = ("sqlalchemy", "asyncpg", "aiokafka")
FRAMEWORKS = ("fastapi", "starlette", "uvicorn")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(service: str, layer: str) -> list[Path]:
    return sorted((ROOT / "services" / service / layer).rglob("*.py"))


def offending(paths: list[Path], roots: tuple[str, ...]) -> list[str]:
    return [f"{p.relative_to(ROOT)}: {name}" for p in paths for name in sorted(imports(p))
            if name.split(".")[0] in roots]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("layer", ["domain", "application", "api"])
def test_no_sql_or_broker_driver_outside_adapters(service, layer):
    assert offending(sources(service, layer), DRIVERS) == []


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("layer", ["domain", "application"])
def test_no_web_framework_in_domain_or_application(service, layer):
    assert offending(sources(service, layer), FRAMEWORKS) == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_imports_no_outer_layer_and_no_infrastructure(service):
    outer = tuple(f"services.{service}.{layer}" for layer in ("application", "adapters", "api")) + ("shared.db",
                  "shared.eventstore", "shared.messaging", "shared.api", "shared.settings")
    found = [f"{p.relative_to(ROOT)}: {name}" for p in sources(service, "domain") for name in imports(p)
             if name.startswith(outer)]
    assert found == []


@pytest.mark.parametrize("package", ["contract_events", "kernel"])
def test_the_published_language_and_the_kernel_are_pure(package):
    paths = sorted((ROOT / package).rglob("*.py"))
    assert offending(paths, DRIVERS + FRAMEWORKS) == []
    assert [f"{p.relative_to(ROOT)}: {n}" for p in paths for n in imports(p) if n.startswith("services")] == []


PURE_SHARED = ("shared.types", "shared.eventstore.model")


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("layer", ["domain", "application"])
def test_domain_and_application_take_from_shared_only_its_pure_modules(service, layer):
    """A direct import is not enough: shared.auth, for one, pulls FastAPI and SQLAlchemy in. The
    caller, its role and the tenancy rule are kernel/access.py."""
    found = [f"{p.relative_to(ROOT)}: {name}" for p in sources(service, layer) for name in sorted(imports(p))
             if name.startswith("shared") and name not in PURE_SHARED]
    assert found == []


@pytest.mark.parametrize("module", PURE_SHARED)
def test_the_pure_shared_modules_stay_pure(module):
    path = ROOT / (module.replace(".", "/") + ".py")
    assert offending([path], DRIVERS + FRAMEWORKS) == []
