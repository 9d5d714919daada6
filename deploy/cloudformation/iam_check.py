"""Every IAM policy in a CloudFormation template, through parliament: an action scoped to a resource
type it does not have (RESOURCE_MISMATCH: IAM then never allows it), an unknown action, a malformed
statement or condition fails the check.

parliament reads JSON policies, so each document is resolved first: parameters take sample values,
resources sample names and ARNs of their type, ``Fn::Sub``/``Join``/``Split`` are applied, and each
branch of every ``Fn::If`` is checked (every combination of the conditions a document uses).
Which resource types an action has comes from parliament's copy of the IAM Service Authorization
Reference ("Actions, resources, and condition keys for AWS services").

    python -m deploy.cloudformation.iam_check deploy/cloudformation/*.yaml
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

ACCOUNT, REGION, STACK = "123456789012", "us-east-1", "cdn"
PSEUDO = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws", "AWS::StackName": STACK}
# Sample values for parameters without a usable default (an empty default stands for "not set").
SAMPLES = {
    "EksOidcProvider": "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    "KeyOperatorsPrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/key-operators",
    "AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms",
}
# A resource's name (Ref) and ARN (GetAtt .Arn) by type; None: parliament needs no ARN shape.
ARNS = {
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{{name}}",
    "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{name}}",
    "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{{name}}-AbCdEf",
    "AWS::IAM::InstanceProfile": f"arn:aws:iam::{ACCOUNT}:instance-profile/{{name}}",
    "AWS::CloudFront::KeyValueStore": f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/{{name}}",
}
# Findings that only say a statement could be narrower are not failures: this check is about
# statements IAM would not apply as written.
ADVISORY = {"RESOURCE_STAR"}
# parliament knows SAML providers and a few web identity providers by name, not IAM OIDC providers
# (EKS IRSA's); such a principal is checked for its ARN's shape here instead.
OIDC_PROVIDER = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/[a-z0-9.-]+(/[A-Za-z0-9/._-]+)?")
# Nor their condition keys, the provider's name followed by :aud or :sub ("Available keys for AWS
# web identity federation", IAM User Guide), which only AssumeRoleWithWebIdentity carries.
OIDC_KEY = re.compile(
    r"Unknown condition [a-z0-9.-]+(/[A-Za-z0-9/._-]+)?:(aud|sub|amr) "
    r"for action sts:AssumeRoleWithWebIdentity"
)
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class Unresolvable(ValueError):
    pass


class Resolver:
    """Template values made concrete.  Without ``given`` parameters, every branch of each
    ``Fn::If``; with them (the rest at their defaults), the branches those parameters choose."""

    def __init__(self, template: dict[str, Any], given: dict[str, str] | None = None) -> None:
        self.parameters: dict[str, Any] = template.get("Parameters", {})
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.conditions: dict[str, Any] = template.get("Conditions", {})
        self.given = given

    def condition(self, name: str) -> bool:
        return self._truth(self.conditions[name])

    def _truth(self, node: Any) -> bool:
        ((function, argument),) = node.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in argument)
        if function == "Fn::Or":
            return any(self._truth(a) for a in argument)
        if function == "Fn::Equals":
            left, right = (next(self.variants(a)) for a in argument)
            return bool(left == right)
        raise Unresolvable(f"{function} in a condition is not supported by this check")

    def ref(self, name: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.parameters:
            parameter = self.parameters[name]
            if self.given is not None:
                value = self.given.get(name, parameter.get("Default", ""))
                split = parameter.get("Type") == "CommaDelimitedList"
                return [v for v in str(value).split(",")] if split else str(value)
            value = SAMPLES.get(name, parameter.get("Default", f"sample-{name.lower()}"))
            if parameter.get("Type") == "CommaDelimitedList":
                return [v for v in str(value).split(",") if v] or [f"sample-{name.lower()}"]
            return str(value) or f"sample-{name.lower()}"
        if name in self.resources:
            kind = self.resources[name]["Type"]
            if kind in ("AWS::SecretsManager::Secret",):
                return ARNS[kind].format(name=name.lower())
            return f"{STACK}-{name.lower()}"
        raise Unresolvable(f"Ref to unknown {name}")

    def attribute(self, name: str, attribute: str) -> str:
        if name not in self.resources:
            raise Unresolvable(f"GetAtt of unknown {name}")
        kind = self.resources[name]["Type"]
        if attribute == "Arn" and kind in ARNS:
            return ARNS[kind].format(name=f"{STACK}-{name.lower()}")
        return f"{STACK}-{name.lower()}-{attribute.lower()}"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".")[0] in self.resources:
                return self.attribute(*name.split(".", 1))
            value = self.ref(name)
            return ",".join(value) if isinstance(value, list) else str(value)

        return _SUB.sub(one, text).replace("${!", "${")

    def variants(self, node: Any) -> Iterator[Any]:
        """Every value ``node`` can take: one per combination of its Fn::If branches."""
        if isinstance(node, list):
            for items in itertools.product(*(list(self.variants(item)) for item in node)):
                yield [item for item in items if item is not _NOTHING]
        elif isinstance(node, dict) and len(node) == 1 and next(iter(node)).startswith(("Fn::", "Ref")):
            yield from self._function(*next(iter(node.items())))
        elif isinstance(node, dict):
            keys = list(node)
            for values in itertools.product(*(list(self.variants(node[k])) for k in keys)):
                yield {k: v for k, v in zip(keys, values, strict=True) if v is not _NOTHING}
        else:
            yield node

    def _function(self, name: str, argument: Any) -> Iterator[Any]:
        if name == "Ref":
            yield _NOTHING if argument == "AWS::NoValue" else self.ref(argument)
        elif name == "Fn::GetAtt":
            yield self.attribute(*(argument if isinstance(argument, list) else argument.split(".", 1)))
        elif name == "Fn::If" and self.given is not None:
            yield from self.variants(argument[1] if self.condition(argument[0]) else argument[2])
        elif name == "Fn::If":
            yield from self.variants(argument[1])
            yield from self.variants(argument[2])
        elif name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            for resolved in self.variants(variables):
                yield self.sub(text, resolved)
        elif name == "Fn::Join":
            for parts in self.variants(argument[1]):
                yield argument[0].join(str(p) for p in _flat(parts))
        elif name == "Fn::Split":
            for text in self.variants(argument[1]):
                yield str(text).split(argument[0])
        else:
            raise Unresolvable(f"{name} is not supported by this check")


_NOTHING = object()


def _flat(items: list[Any]) -> Iterator[Any]:
    for item in items:
        yield from (_flat(item) if isinstance(item, list) else [item])


def policies(template: dict[str, Any]) -> Iterator[tuple[str, Any, str | None]]:
    """(where, unresolved document, the role it is the trust policy of) for every IAM policy
    document in the template."""
    for name, resource in template.get("Resources", {}).items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            yield f"{name} trust policy", properties["AssumeRolePolicyDocument"], name
            for policy in properties.get("Policies", []):
                yield f"{name} policy {policy['PolicyName']}", policy["PolicyDocument"], None
        elif kind in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield f"{name} policy", properties["PolicyDocument"], None
        elif kind == "AWS::S3::BucketPolicy":
            yield f"{name}", properties["PolicyDocument"], None
        elif kind == "AWS::KMS::Key":
            yield f"{name} key policy", properties["KeyPolicy"], None


def _as_resource_policy(document: Any, role_arn: str) -> Any:
    """A trust policy names no Resource: the role itself is what its actions act on."""
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if "Resource" not in statement and "NotResource" not in statement:
            statement["Resource"] = role_arn
    return document


def _known_to_iam(issue: str, detail: Any) -> bool:
    """An IAM OIDC provider principal or condition key, which parliament does not know."""
    if not isinstance(detail, str):
        return False
    if issue == "UNKNOWN_FEDERATION_SOURCE":
        return OIDC_PROVIDER.fullmatch(detail) is not None
    return issue == "UNKNOWN_CONDITION_FOR_ACTION" and OIDC_KEY.fullmatch(detail) is not None


def findings(template: dict[str, Any]) -> list[str]:
    """Every failing finding, as one line each; empty when the template's policies are sound."""
    from parliament import analyze_policy_string  # loads the IAM data (10 MB): only when used

    resolver, problems = Resolver(template), []
    for where, document, role in policies(template):
        seen: set[str] = set()
        for resolved in resolver.variants(document):
            parsed = json.loads(resolved) if isinstance(resolved, str) else resolved
            if role is not None:
                parsed = _as_resource_policy(parsed, resolver.attribute(role, "Arn"))
            text = json.dumps(parsed)
            if text in seen:
                continue
            seen.add(text)
            for finding in analyze_policy_string(text).findings:
                if finding.issue in ADVISORY:
                    continue
                if _known_to_iam(finding.issue, finding.detail):
                    continue
                problems.append(f"{where}: {finding.issue} {finding.detail} {finding.location}")
    return sorted(set(problems))


def main(paths: list[str]) -> int:
    from cfnlint.decode import decode

    failed = False
    for path in paths:
        template, matches = decode(path)
        if matches or template is None:
            print(f"{path}: cannot be read: {matches}")
            failed = True
            continue
        for problem in findings(template):
            print(f"{path}: {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
