"""The drill's output folder: every file, the two API inputs checked against botocore first."""

from __future__ import annotations

from agentkit.drill.fis import (
    Drill,
    automation_document,
    automation_policy,
    automation_trust,
    create_document_input,
    deny_policy,
    experiment_policy,
    experiment_template_input,
    experiment_trust,
    render_json,
)
from agentkit.drill.readme import readme
from agentkit.drill.stack import render_stack
from agentkit.drill.validate import check_request
from agentkit.errors import AgentkitError


def build_files(drill: Drill) -> dict[str, str]:
    """The output folder: file name -> content. The two API inputs are validated against
    botocore's models first; a failure there is agentkit's bug, said as such."""
    template = experiment_template_input(drill)
    document = create_document_input(drill)
    problems = check_request("fis", "CreateExperimentTemplate", template) + check_request(
        "ssm", "CreateDocument", document
    )
    if problems:
        raise AgentkitError(
            "drill export: the generated API input does not validate against botocore's model "
            f"(an agentkit bug, please report it): {'; '.join(problems)}"
        )
    return {
        "deny-policy.json": render_json(deny_policy(drill)),
        "ssm-automation-role.trust.json": render_json(automation_trust(drill)),
        "ssm-automation-role.policy.json": render_json(automation_policy(drill)),
        "fis-experiment-role.trust.json": render_json(experiment_trust(drill)),
        "fis-experiment-role.policy.json": render_json(experiment_policy(drill)),
        "ssm-automation-document.json": render_json(automation_document(drill)),
        "ssm-create-document.json": render_json(document),
        "fis-experiment-template.json": render_json(template),
        "drill-stack.json": render_stack(drill),
        "README.md": readme(drill),
    }
