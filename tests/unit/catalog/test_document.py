"""ServiceTemplate documents: the built-ins are valid; every problem is reported with path and position."""

from __future__ import annotations

import textwrap

import pytest
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document


def _paths(text: str) -> dict[str, str]:
    parsed = parse_template_document(textwrap.dedent(text))
    assert parsed.spec is None
    problems: dict[str, str] = {}
    for v in parsed.violations:
        problems[v.path] = f"{problems[v.path]} | {v.message}" if v.path in problems else v.message
    return problems


@pytest.mark.parametrize("file_name", sorted(builtin_documents()))
def test_builtin_templates_are_valid(file_name: str) -> None:
    parsed = parse_template_document(builtin_documents()[file_name])
    assert parsed.violations == ()
    assert parsed.spec is not None
    assert parsed.spec.name == file_name.removesuffix(".yaml")


def test_web_service_has_the_seed_shape() -> None:
    spec = parse_template_document(builtin_documents()["web-service.yaml"]).spec
    assert spec is not None
    assert [r.type for r in spec.resources] == ["compute", "networking", "database", "observability"]
    database = spec.resources[2]
    assert database.condition == '.database != "none"'
    observability = spec.resources[3]
    assert observability.automatic and observability.includes == ("metrics", "logs", "traces", "alerts")
    workflows = {w.name: w.steps for w in spec.workflows}
    assert workflows["deploy"] == (
        "validate_config",
        "run_tests",
        "build_image",
        "deploy_canary",
        "run_smoke_tests",
        "promote_production",
    )
    assert workflows["rollback"] == ("identify_previous_version", "deploy_previous_version", "verify_health")
    language = spec.parameter("language")
    assert language is not None and language.type == "enum"
    assert "none" in spec.parameter("database").values  # type: ignore[union-attr]


BROKEN = """\
apiVersion: platform.dev/v2
kind: ServiceTemplate
metadata:
  name: Bad_Name
  colour: blue
spec:
  parameters:
    - name: service_name
      type: string
    - name: size
      type: integer
    - name: flavour
      type: enum
    - name: replicas
      type: int
      min: 5
      max: 2
    - name: service_name
      type: string
    - name: mode
      type: enum
      values: [a, b]
      default: c
  resources:
    - type: compute
      template: |
        kind: Deployment
        metadata:
          name: {{ .service_name }}
          image: {{ .nope }}
    - type: database
      condition: .flavour == "x" &&
      template: "engine: x"
    - type: observability
      includes: [metrics, sparkles]
      automatic: true
  workflows:
    deploy: []
"""


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    problems = _paths(BROKEN)
    assert problems["apiVersion"] == "must be platform.dev/v1"
    assert "DNS-1123" in problems["metadata.name"]
    assert problems["metadata.colour"].startswith("unknown field")
    assert problems["spec.parameters[1].type"].startswith("must be one of")
    assert problems["spec.parameters[2].values"] == "required for enum"
    assert problems["spec.parameters[3].min"] == "must not be greater than max"
    assert "duplicate parameter" in problems["spec.parameters[4].name"]
    assert problems["spec.parameters[5].default"] == "must be one of: a, b"
    assert "unknown placeholder {{ .nope }}" in problems["spec.resources[0].template"]
    assert "must be a Kubernetes object with apiVersion and kind" in problems["spec.resources[0].template"]
    assert problems["spec.resources[1].condition"].startswith("invalid condition")
    assert problems["spec.resources[2].includes[1]"].startswith("must be one of")
    assert problems["spec.workflows.deploy"] == "must be a non-empty list of step names"


def test_violations_carry_line_and_column() -> None:
    parsed = parse_template_document(BROKEN)
    by_path = {v.path: v for v in parsed.violations}
    values = by_path["spec.parameters[2].values"]
    assert (values.line, values.column) == (12, 7)  # the "- name: flavour" item
    colour = by_path["metadata.colour"]
    assert (colour.line, colour.column) == (5, 3)


def test_yaml_syntax_error_has_line_and_column() -> None:
    parsed = parse_template_document("apiVersion: platform.dev/v1\nkind: [unclosed\nmetadata: {}\n")
    assert len(parsed.violations) == 1
    violation = parsed.violations[0]
    assert violation.path == ""
    assert violation.message.startswith("YAML syntax error")
    assert violation.line == 3


def test_yaml_error_inside_a_resource_template_points_into_the_document() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: platform.dev/v1
        kind: ServiceTemplate
        metadata:
          name: broken
        spec:
          resources:
            - type: compute
              template: |
                apiVersion: v1
                kind: ConfigMap
                data: [unclosed
        """
    )
    parsed = parse_template_document(text)
    (violation,) = parsed.violations
    assert violation.path == "spec.resources[0].template"
    assert violation.message.startswith("invalid YAML")
    assert violation.line >= 11


def test_unsupported_template_actions_are_rejected() -> None:
    problems = _paths(
        """\
        apiVersion: platform.dev/v1
        kind: ServiceTemplate
        metadata: {name: t}
        spec:
          resources:
            - type: compute
              template: |
                apiVersion: v1
                kind: ConfigMap
                data:
                  x: "{{ range .items }}"
        """
    )
    assert "only {{ .name }} placeholders" in problems["spec.resources[0].template"]


def test_condition_literal_must_be_an_enum_value() -> None:
    problems = _paths(
        """\
        apiVersion: platform.dev/v1
        kind: ServiceTemplate
        metadata: {name: t}
        spec:
          parameters:
            - {name: database, type: enum, values: [postgres, none]}
          resources:
            - type: database
              condition: .database != "nope"
              template: "engine: postgres"
        """
    )
    assert "'nope' is not a value" in problems["spec.resources[0].condition"]


def test_two_resources_of_one_type_need_names() -> None:
    problems = _paths(
        """\
        apiVersion: platform.dev/v1
        kind: ServiceTemplate
        metadata: {name: t}
        spec:
          resources:
            - {type: storage, template: "bucket: a"}
            - {type: storage, template: "bucket: b"}
        """
    )
    assert "duplicate resource name 'storage'" in problems["spec.resources[1].type"]


def test_empty_and_non_mapping_documents() -> None:
    assert parse_template_document("").violations[0].message == "document is empty"
    assert (
        parse_template_document("- a\n- b\n").violations[0].message.startswith("document must be a mapping")
    )
    assert "expected a single document" in parse_template_document("a: 1\n---\nb: 2\n").violations[0].message


def test_a_float_where_kubernetes_decodes_an_integer_is_refused() -> None:
    problems = _paths(
        """\
        apiVersion: platform.dev/v1
        kind: ServiceTemplate
        metadata: {name: floaty}
        spec:
          parameters:
            - {name: service_name, type: string, required: true}
            - {name: port, type: int, default: 8080}
          resources:
            - type: compute
              template: |
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: "{{ .service_name }}"}
                spec:
                  replicas: 2.0
                  selector:
                    matchLabels: {app: x}
                  template:
                    metadata:
                      labels: {app: x}
                    spec:
                      containers:
                        - name: app
                          image: "{{ .image }}"
                          ports:
                            - containerPort: {{ .port }}
            - type: networking
              template: |
                apiVersion: v1
                kind: Service
                metadata: {name: "{{ .service_name }}"}
                spec:
                  ports: [{port: 80, targetPort: 8080.5}]
        """
    )
    compute = problems["spec.resources[0].template"]
    assert "Deployment) spec.replicas: 2.0 is not an integer" in compute and "write 2" in compute
    # A placeholder filled by an int parameter is not a literal float.
    assert "containerPort" not in compute
    networking = problems["spec.resources[1].template"]
    assert "Service) spec.ports[0].targetPort: 8080.5 is not an integer" in networking


_LIST_WORKFLOWS = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata: {name: listed}
spec:
  parameters:
    - {name: service_name, type: string, required: true}
  resources:
    - type: database
      template: |
        # Provision managed database
  workflows:
%s
"""


def test_workflows_in_list_form_are_the_same_workflows() -> None:
    listed = parse_template_document(
        _LIST_WORKFLOWS % "    - name: deploy\n      steps: [validate_config, run_tests]\n"
        "    - name: rollback\n      steps: [verify_health]"
    )
    mapped = parse_template_document(
        _LIST_WORKFLOWS % "    deploy: [validate_config, run_tests]\n    rollback: [verify_health]"
    )
    assert listed.violations == mapped.violations == ()
    assert listed.spec is not None and mapped.spec is not None
    assert listed.spec.workflows == mapped.spec.workflows


def test_list_form_workflow_problems_name_their_entry() -> None:
    problems = _paths(
        _LIST_WORKFLOWS % "    - name: deploy\n      steps: []\n    - name: deploy\n      steps: [x]\n"
        "    - steps: [y]\n    - name: other\n      step: [z]"
    )
    assert problems["spec.workflows[0].steps"] == "must be a non-empty list of step names"
    assert problems["spec.workflows[1].steps"] == "duplicate workflow 'deploy'"
    assert problems["spec.workflows[2].name"] == "required"
    assert "unknown field" in problems["spec.workflows[3].step"]


def test_only_data_stores_may_be_comment_only() -> None:
    problems = _paths(
        """\
        apiVersion: platform.dev/v1
        kind: ServiceTemplate
        metadata: {name: commented}
        spec:
          resources:
            - type: compute
              template: |
                # a Deployment, some day
        """
    )
    assert problems["spec.resources[0].template"] == "must contain at least one YAML document"
