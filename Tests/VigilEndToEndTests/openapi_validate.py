#!/usr/bin/env python3
"""Checks docs/openapi.yaml against what the real server answered.

Run by OpenAPIValidationTests.swift after it has called every route of a real `vigil server`:

    openapi_validate.py SPEC EXCHANGES_JSON [--sources DIR]

1. SPEC is a valid OpenAPI document (openapi-spec-validator).
2. Every recorded response validates against the schema of its path, method and status,
   headers included (openapi-core, which resolves the $refs); a 2xx exchange's request
   (query, path parameters, body, key) validates too, and so does every document served by
   `current` as a POST /api/metrics body (the request schema accepts what agents send).
3. Coverage, so the document cannot drift: every path + method of the document was exercised,
   every exercised route is documented, every documented status was seen (except the few in
   NOT_EXERCISED), and every route the server registers in --sources is documented.

Exit 0 when all holds; otherwise 1, after listing every mismatch. Needs:
    pip install openapi-core openapi-spec-validator   (see .ci/run for the pinned versions)
"""

import argparse
import json
import os
import re
import sys
import urllib.parse

# Statuses documented but not triggered by the test, and why.
NOT_EXERCISED = {
    ("POST", "/api/metrics", "503"): "needs the write queue (metrics.max_pending) full, not cheap to reach",
    ("POST", "/api/messages", "503"): "needs the message queue (messages.max_pending) full; MessagingTests.serverBusy covers it on the agent port",
    ("POST", "/api/auth/password", "429"): "the sign-in throttle; AuthTests.throttlePerUser covers it on /api/auth/login (the same counter)",
}

JSON_CONTENT_TYPE = "application/json"


def load_modules():
    try:
        import yaml  # noqa: F401
        from openapi_core import OpenAPI  # noqa: F401
        from openapi_spec_validator import validate  # noqa: F401
    except ImportError as error:  # pragma: no cover - reported to the Swift test
        print(f"MISSING PYTHON MODULE: {error}. Install: pip install openapi-core openapi-spec-validator", file=sys.stderr)
        sys.exit(3)


def describe_exception(error):
    """Flattens openapi-core's exception chain into readable lines, each schema error with its path."""
    lines = []
    seen = set()

    def schema_lines(exception, indent):
        for schema_error in getattr(exception, "schema_errors", None) or []:
            where = "/".join(str(part) for part in schema_error.absolute_path) or "(top level)"
            lines.append(f"{indent}at {where}: {schema_error.message}")
            for sub in schema_error.context or []:
                sub_where = "/".join(str(part) for part in sub.absolute_path) or "(top level)"
                lines.append(f"{indent}  - {sub_where}: {sub.message}")

    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "schema_errors", None) or getattr(current.__cause__, "schema_errors", None):
            lines.append(type(current).__name__)
            schema_lines(current, "    ")
        else:
            lines.append(f"{type(current).__name__}: {current}")
        for sub in getattr(current, "errors", None) or []:
            lines.append(f"    {type(sub).__name__}: {sub}")
            schema_lines(sub, "      ")
        current = current.__cause__
    return lines


def template_regex(template):
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
    return re.compile("^" + pattern + "$")


def documented_operations(spec):
    operations = {}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                operations[(method.upper(), path)] = set(operation.get("responses", {}).keys())
    return operations


def registered_routes(sources):
    """Routes the Hummingbird router registers, read from the Swift sources.

    Understands `let x = y.group("p")`, `x.get("p")` (and post/put/patch/delete/head), and
    `func register(on x: ...)` whose callers pass `router` or `router.group("p")`.
    Returns ({(METHOD, "/path/{param}")}, [problems]).
    """
    files = {}
    for root, _, names in os.walk(sources):
        for name in names:
            if name.endswith(".swift"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as handle:
                    files[path] = handle.read()

    def strip_comments(text):
        return re.sub(r"//[^\n]*", "", text)

    # Callers: `TypeName(...).register(on: EXPR)`, EXPR = router | router.group("p").
    register_prefix = {}
    call = re.compile(r"\b([A-Z]\w*)\((?:[^()]|\([^()]*\))*\)\.register\(on:\s*(\w+)(?:\.group\(\"([^\"]*)\"\))?\)")
    for text in files.values():
        for match in call.finditer(strip_comments(text)):
            type_name, base, group = match.groups()
            if base != "router":
                continue
            register_prefix[type_name] = "/" + group.strip("/") if group else ""

    routes, problems = set(), []
    # `x.get("path") { ... }` or `x.get("path", use: handler)`: not `parameters.get("id")`.
    route_call = re.compile(r"\b(\w+)\.(get|post|put|patch|delete|head)\(\s*\"([^\"]*)\"\s*(?:\)\s*\{|,\s*use:)")
    for path, raw in files.items():
        text = strip_comments(raw)
        if not route_call.search(text):
            continue
        prefixes = {"router": ""}
        type_match = re.search(r"\b(?:struct|final class|class|enum|actor)\s+([A-Z]\w*)", text)
        param = re.search(r"func\s+register\(on\s+(\w+)\s*:", text)
        if param and type_match and type_match.group(1) in register_prefix:
            prefixes[param.group(1)] = register_prefix[type_match.group(1)]
        for match in re.finditer(r"\blet\s+(\w+)\s*=\s*(\w+)\.group\(\s*\"([^\"]*)\"\s*\)", text):
            name, base, group = match.groups()
            if base in prefixes:
                prefixes[name] = prefixes[base] + "/" + group.strip("/")
        for match in route_call.finditer(text):
            variable, method, route = match.groups()
            if variable not in prefixes:
                line = text[: match.start()].count("\n") + 1
                problems.append(f"{os.path.relpath(path)}:{line}: cannot tell the path prefix of `{variable}` in "
                                f"`{variable}.{method}(\"{route}\")`; teach registered_routes() in {os.path.basename(__file__)}")
                continue
            full = prefixes[variable] + ("/" + route.strip("/") if route.strip("/") else "")
            full = re.sub(r":(\w+)", r"{\1}", full) or "/"
            routes.add((method.upper(), full))
    return routes, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("exchanges")
    parser.add_argument("--sources", help="Sources/VigilServer, to check that every registered route is documented")
    arguments = parser.parse_args()
    load_modules()

    import yaml
    from openapi_core import Config, OpenAPI
    from openapi_core.testing import MockRequest, MockResponse
    from openapi_spec_validator import validate

    failures = []

    # 1. The document itself.
    with open(arguments.spec, encoding="utf-8") as handle:
        spec_dict = yaml.safe_load(handle)
    try:
        validate(spec_dict)
    except Exception as error:  # noqa: BLE001 - any validator error is a failure to report
        failures.append(f"{arguments.spec} is not a valid OpenAPI document: {error}")
        print("\n".join(failures))
        return 1
    # Validated above; skip openapi-core's own (slow) second validation.
    openapi = OpenAPI.from_dict(spec_dict, config=Config(spec_validator_cls=None))
    operations = documented_operations(spec_dict)

    with open(arguments.exchanges, encoding="utf-8") as handle:
        exchanges = json.load(handle)["exchanges"]

    # 2. Each response (and each successful request).
    exercised = {}
    validated = 0
    for index, exchange in enumerate(exchanges):
        method, template = exchange["method"].upper(), exchange["template"]
        url = urllib.parse.urlsplit(exchange["url"])
        note = f" ({exchange['note']})" if exchange.get("note") else ""
        query_text = "?" + url.query if url.query else ""
        label = f"#{index} {method} {url.path}{query_text[:120]} -> {exchange['status']}{note}"
        exercised.setdefault((method, template), set()).add(str(exchange["status"]))

        matching = [path for (m, path) in operations if m == method and template_regex(path).match(url.path)]
        # OpenAPI 3.1 §4.8.8: concrete paths match before their templated counterparts
        # (`/api/alerts/history` before `/api/alerts/{id}`), as the server's router does.
        concrete = [path for path in matching if "{" not in path]
        if concrete:
            matching = concrete
        if (method, template) not in operations:
            failures.append(f"{label}: {method} {template} is not documented in {arguments.spec}")
            continue
        if matching != [template]:
            failures.append(f"{label}: the URL matches {matching or 'no documented path'}, not {template}")

        content_type = exchange.get("content_type") or ""
        body = exchange.get("body") or ""
        media_type = content_type.split(";")[0].strip()
        # JSON everywhere, except where the document declares another media type (a download).
        declared = (spec_dict["paths"][template][method.lower()].get("responses", {})
                    .get(str(exchange["status"]), {}).get("content", {}))
        if int(exchange["status"]) == 204:
            # No content: there must be no body (and so no media type to check).
            if body:
                failures.append(f"{label}: a 204 answer has a body: {body[:200]!r}")
        elif media_type != JSON_CONTENT_TYPE and media_type not in declared:
            failures.append(f"{label}: Content-Type is {content_type!r}, expected {JSON_CONTENT_TYPE}")
        if int(exchange["status"]) != 204 and (media_type == JSON_CONTENT_TYPE or media_type not in declared):
            try:
                json.loads(body)
            except ValueError as error:
                failures.append(f"{label}: the body is not JSON ({error}): {body[:200]!r}")
                continue

        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        request_headers = exchange.get("request_headers") or {}
        request_body = exchange.get("request_body")
        request = MockRequest(
            host_url=f"{url.scheme}://{url.netloc}", method=method.lower(), path=url.path,
            args=query, headers=request_headers,
            data=request_body.encode() if request_body is not None else None,
            content_type=request_headers.get("Content-Type", JSON_CONTENT_TYPE),
        )
        response = MockResponse(
            data=body.encode(), status_code=int(exchange["status"]),
            headers=exchange.get("headers") or {}, content_type=content_type,
        )
        try:
            openapi.validate_response(request, response)
            validated += 1
        except Exception as error:  # noqa: BLE001
            details = "\n      ".join(describe_exception(error))
            failures.append(f"{label}: the response does not match the document:\n      {details}\n      body: {body[:1500]}")
        if 200 <= int(exchange["status"]) < 300:
            try:
                openapi.validate_request(request)
            except Exception as error:  # noqa: BLE001
                details = "\n      ".join(describe_exception(error))
                failures.append(f"{label}: the (accepted) request does not match the document:\n      {details}")
        if template == "/api/servers/{hostname}/current" and int(exchange["status"]) == 200:
            # What an agent (or script) sent, as the server keeps it, is a valid POST /api/metrics body.
            document = json.dumps(json.loads(body)["metrics"]).encode()
            post = MockRequest(host_url=f"{url.scheme}://{url.netloc}", method="post", path="/api/metrics",
                               headers={"X-API-Key": "vk_x"}, data=document, content_type=JSON_CONTENT_TYPE)
            try:
                openapi.validate_request(post)
            except Exception as error:  # noqa: BLE001
                details = "\n      ".join(describe_exception(error))
                failures.append(f"{label}: its `metrics` document is not a valid POST /api/metrics body:\n      {details}")

    # 3. Coverage both ways.
    for (method, path), statuses in sorted(operations.items()):
        seen = exercised.get((method, path))
        if not seen:
            failures.append(f"documented {method} {path} was never exercised by the test")
            continue
        for status in sorted(statuses - seen):
            if (method, path, status) not in NOT_EXERCISED:
                failures.append(f"documented {method} {path} -> {status} was never seen by the test")
    if arguments.sources:
        routes, problems = registered_routes(arguments.sources)
        failures.extend(problems)
        if not routes and not problems:
            failures.append(f"found no route registrations under {arguments.sources}")
        documented = set(operations)
        for method, path in sorted(routes - documented):
            failures.append(f"the server registers {method} {path} (in {arguments.sources}) but {arguments.spec} does not document it")
        for method, path in sorted(documented - routes):
            if routes:
                failures.append(f"{arguments.spec} documents {method} {path} but the server does not register it")

    skipped = [f"{m} {p} -> {s}: {why}" for (m, p, s), why in NOT_EXERCISED.items()]
    print(f"{len(exchanges)} exchanges, {validated} responses valid, {len(operations)} documented operations")
    if skipped:
        print("not exercised on purpose: " + "; ".join(skipped))
    if failures:
        print(f"\n{len(failures)} MISMATCHES:")
        for failure in failures:
            print(" - " + failure)
        return 1
    print("OpenAPI document and server agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
