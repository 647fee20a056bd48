"""docs/cerfa.md and the README name every field of the CERFA model, with its French label:
a field added to contract_events/cerfa.py without its line in the documentation fails here."""
from pathlib import Path

from contract_events.cerfa import Cerfa
from contract_events.publication import nested_model

ROOT = Path(__file__).resolve().parents[2]


def fields(model, prefix=""):
    for name, info in model.model_fields.items():
        nested = nested_model(info.annotation)
        is_list = "list" in str(info.annotation)
        path = f"{prefix}{name}{'[]' if is_list and nested else ''}"
        yield path, info.description
        if nested is not None and name != "duration_adjustment":
            yield from fields(nested, path + ".")


def test_every_field_has_its_row_in_docs_cerfa_with_its_french_label():
    doc = (ROOT / "docs" / "cerfa.md").read_text()
    missing = [path for path, label in fields(Cerfa) if f"| `{path}` | {label} |" not in doc]
    assert missing == []


def test_every_section_field_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The CERFA"):readme.index("<!-- cerfa-example:start -->")]
    top = [path for path, _ in fields(Cerfa) if path.count(".") == 1 and "[]" not in path.split(".")[1]]
    missing = [p for p in top if f"`{p.split('.')[1]}`" not in section]
    assert missing == []
