"""The Backstage templates in deploy/backstage/templates are the ones generated from the golden paths."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

GENERATOR = Path(__file__).parents[3] / "deploy" / "backstage" / "generate_templates.py"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("generate_templates", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_templates_match_the_golden_paths() -> None:
    generator = _generator()
    assert generator.main(["--check"]) == 0, (
        "regenerate: uv run python deploy/backstage/generate_templates.py"
    )


def test_every_golden_path_has_a_template_using_the_paved_action() -> None:
    generator = _generator()
    files = generator.rendered()
    assert {path.stem for path in files} == {"web-service", "background-worker", "scheduled-job"}
    for text in files.values():
        template = yaml.safe_load(text)
        (step,) = template["spec"]["steps"]
        assert step["action"] == "paved:service:create"
        assert step["input"]["template"] == template["metadata"]["name"]
        # Every form field of the golden path reaches Paved, and nothing else does.
        form = template["spec"]["parameters"][0]["properties"]
        assert set(step["input"]["parameters"]) == set(form)
