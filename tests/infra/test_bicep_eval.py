"""The evaluator behind tests/infra/test_bicep_defaults.py, on small templates: Bicep's documented semantics
("Bicep operators", "Bicep functions" on Microsoft Learn) for what infra/ uses, and a loud failure for what
it does not model."""

from __future__ import annotations

import textwrap

import pytest

from tests.infra.bicep_eval import Deployed, NotEvaluable, Scope, Template, plain


def scope(tmp_path, source: str, **parameters) -> Scope:
    path = tmp_path / "main.bicep"
    path.write_text(textwrap.dedent(source))
    return Scope(Template(path), parameters, {"main.bicep:identity.properties.clientId": "client-id"})


def test_parameters_take_the_given_value_else_their_default(tmp_path):
    template = scope(
        tmp_path,
        """
        param mode string = 'off'
        param size int = 3
        param required string
    """,
        required="x",
    )
    assert (template.value("mode"), template.value("size"), template.value("required")) == ("off", 3, "x")
    assert scope(tmp_path, "param mode string = 'off'\n", mode="function").value("mode") == "function"


def test_a_parameter_without_value_or_default_is_named(tmp_path):
    with pytest.raises(NotEvaluable, match="required"):
        scope(tmp_path, "param required string\nvar x = required\n").value("x")


def test_ternaries_evaluate_only_the_branch_taken(tmp_path):
    template = scope(
        tmp_path,
        """
        param on bool = true
        var x = on ? 'yes' : unknownFunction()
        var y = !on ? unknownFunction() : null
    """,
    )
    assert template.value("x") == "yes" and template.value("y") is None


def test_operators_precedence_and_null_handling(tmp_path):
    template = scope(
        tmp_path,
        """
        param auth string = 'jwt'
        param logon object = {}
        var writesBack = true
        var secret = writesBack && auth != 'jwt' ? { S: 1 } : {}
        var host = logon.?ashost ?? 'none'
        var lang = logon.?lang ?? 'EN'
    """,
    )
    assert plain(template.value("secret")) == {}
    assert (template.value("host"), template.value("lang")) == ("none", "EN")


def test_functions_strings_and_objects(tmp_path):
    template = scope(
        tmp_path,
        """
        param n int = 30
        var a = { A: '1', B: '2' }
        var merged = union(a, { B: '3' }, empty('') ? { C: string(n) } : {})
        var text = 'x-${string(true)}-${n}'
        var items = concat(empty('') ? [] : ['no'], ['yes'])
    """,
    )
    assert plain(template.value("merged")) == {"A": "1", "B": "3", "C": "30"}
    assert template.value("text") == "x-true-30"
    assert template.value("items") == ["yes"]


def test_deployment_values_are_opaque_unless_a_stand_in_names_them(tmp_path):
    template = scope(
        tmp_path,
        """
        resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
          name: 'id'
        }
        var client = identity.properties.clientId
        var principal = identity.properties.principalId
        var reference = 'ClientId=${principal}'
    """,
    )
    assert template.value("client") == "client-id"
    assert template.value("principal") == Deployed("identity.properties.principalId")
    assert isinstance(template.value("reference"), Deployed)


def test_what_the_evaluator_does_not_model_fails_loudly(tmp_path):
    with pytest.raises(NotEvaluable, match="function"):
        scope(tmp_path, "var x = dateTimeAdd('2024-01-01', 'P1D')\n").value("x")
