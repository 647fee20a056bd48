"""The container image (deploy/Dockerfile) installs the same packages as the project: a package
left out installs fine and fails at the first import (the image once lacked kernel,
contract_events and operations, so `parcours db upgrade` could not start)."""
import re
import tomllib

from shared.settings import REPO_ROOT

RUNTIME_ONLY_EXCLUDED = {"bench", "chaos"}  # the benchmark and the fault trial run from a checkout


def test_the_image_copies_every_package_the_services_and_the_command_import():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (REPO_ROOT / "deploy" / "Dockerfile").read_text(), re.M))
    assert packages - RUNTIME_ONLY_EXCLUDED <= copied


def test_compose_runs_every_service_of_the_stack_and_the_projection_worker():
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    apps = set(re.findall(r'command: \["uvicorn", "--factory", "services\.(\w+)\.api\.app:create_app"', compose))
    assert apps == {p.name for p in (REPO_ROOT / "services").iterdir() if (p / "api" / "app.py").exists()}
    assert 'command: ["python", "-m", "services.financing.projection_worker"]' in compose
