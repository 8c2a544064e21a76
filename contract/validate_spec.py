"""Checks an OpenAPI 3.1 document the way its consumers will rely on it.

usage: validate_spec.py SPEC

1. valid against the official OpenAPI 3.1 meta-schema (openapi-spec-validator);
2. every `$ref` resolves;
3. every example is valid against its own schema (JSON Schema 2020-12, with format
   checking), wherever it stands: parameters, media types, headers, schemas;
4. every operation has a one-line `summary` and a separate `description`, every error
   response is `application/problem+json` with an example, every success response
   with a body has an example.

Prints every finding as `<JSON pointer>: <message>` and exits 1 if there is any.
"""

import json
import sys

from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:jjj-registry:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def pointer(parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(spec, ref):
    node = spec
    for part in ref.removeprefix("#/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.findings = []
        registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        self.registry = registry

    def report(self, path, message):
        self.findings.append(f"{pointer(path) if isinstance(path, tuple) else path}: {message}")

    def meta_schema(self):
        try:
            validate(self.spec)
        except OpenAPIValidationError as error:
            self.report("#", f"not valid OpenAPI 3.1: {error.message}")
        except Exception as error:  # a dangling $ref stops the validator itself
            self.report("#", f"the OpenAPI validator could not read the document: {type(error).__name__}: {str(error)[:200]}")

    def references(self):
        for path, node in walk(self.spec):
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                if not node["$ref"].startswith("#/") or resolve(self.spec, node["$ref"]) is None:
                    self.report(path, f"$ref {node['$ref']} points at nothing")

    def check_example(self, example_path, example, schema_path):
        """Validates `example` against the schema at `schema_path` (a tuple pointer)."""
        schema_pointer = pointer(schema_path)
        if resolve(self.spec, schema_pointer) is None:
            self.report(example_path, f"example has no schema at {schema_pointer}")
            return
        validator = Draft202012Validator(
            {"$ref": SPEC_URI + schema_pointer},
            registry=self.registry,
            format_checker=FormatChecker(),
        )
        for error in validator.iter_errors(example):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            self.report(example_path, f"example invalid at {where}: {error.message[:200]}")

    def examples(self):
        for path, node in walk(self.spec):
            if not isinstance(node, dict):
                continue
            in_schema = "schemas" in path or "schema" in path
            is_parameter_or_media = "schema" in node and not in_schema
            if is_parameter_or_media:
                schema_path = (*path, "schema")
                if "example" in node:
                    self.check_example((*path, "example"), node["example"], schema_path)
                for name, example in (node.get("examples") or {}).items():
                    if isinstance(example, dict) and "$ref" in example:
                        example = resolve(self.spec, example["$ref"]) or {}
                    if "value" in example:
                        self.check_example((*path, "examples", name), example["value"], schema_path)
            elif in_schema and path and path[-1] != "properties":
                # A schema object: its own `examples` (2020-12) and `example` (OAS).
                for index, example in enumerate(node.get("examples") or [] if isinstance(node.get("examples"), list) else []):
                    self.check_example((*path, "examples", index), example, path)
                if "example" in node and path[-1] != "example":
                    self.check_example((*path, "example"), node["example"], path)

    def operations(self):
        for route, item in (self.spec.get("paths") or {}).items():
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                path = ("paths", route, method)
                summary = operation.get("summary") or ""
                description = operation.get("description") or ""
                if not summary or "\n" in summary:
                    self.report(path, "needs a one-line summary")
                if not description.strip() or description.strip() == summary.strip():
                    self.report(path, "needs a description of its own, beyond the summary")
                for status, response in (operation.get("responses") or {}).items():
                    response_path = (*path, "responses", status)
                    if "$ref" in response:
                        response = resolve(self.spec, response["$ref"]) or {}
                    content = response.get("content") or {}
                    if status[0] in "45":
                        if list(content) != ["application/problem+json"]:
                            self.report(response_path, "an error must be application/problem+json only")
                    if status[0] in "245":
                        for media_type, media in content.items():
                            schema = media.get("schema") or {}
                            if "$ref" in schema:
                                schema = resolve(self.spec, schema["$ref"]) or {}
                            if not ("example" in media or media.get("examples") or schema.get("examples") or "example" in schema):
                                self.report((*response_path, "content", media_type), "has no example")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as file:
        spec = json.load(file)
    checker = Checker(spec)
    checker.references()
    checker.meta_schema()
    if not checker.findings:
        checker.examples()
    checker.operations()
    for finding in checker.findings:
        print(finding)
    if checker.findings:
        print(f"{len(checker.findings)} problems in {sys.argv[1]}")
        sys.exit(1)
    print(f"{sys.argv[1]}: valid OpenAPI 3.1; every reference resolves; every example fits its schema")


if __name__ == "__main__":
    main()
