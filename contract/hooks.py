"""Schemathesis hooks for contract/schemathesis.sh.

`no_write_outside_the_token_region`: when the run carries a region's token
(JJJ_TOKEN_REGION), no write may succeed on a path naming another region, nor suspend
acceptance in another region (`used_in` in the body). The run
itself cannot see the data behind the API; contract.sh also reads the audit log after
the run and fails if any accepted change touched a region other than its actor's.
"""

import os

import schemathesis

TOKEN_REGION = os.environ.get("JJJ_TOKEN_REGION")
WRITES = {"PUT", "PATCH", "POST", "DELETE"}


@schemathesis.check
def no_write_outside_the_token_region(ctx, response, case):
    if TOKEN_REGION is None or case.method.upper() not in WRITES:
        return None
    if not 200 <= response.status_code < 300:
        return None
    region = str((case.path_parameters or {}).get("region", ""))
    if region and region.upper() != TOKEN_REGION:
        raise AssertionError(
            f"a {TOKEN_REGION} token changed {region}'s side: {case.method} {case.formatted_path} answered {response.status_code}"
        )
    # A suspension names the accepting region in its body: only the token's own.
    body = case.body if isinstance(case.body, dict) else {}
    used_in = body.get("used_in")
    if isinstance(used_in, str) and used_in.upper() != TOKEN_REGION:
        raise AssertionError(
            f"a {TOKEN_REGION} token suspended acceptance in {used_in}: {case.method} {case.formatted_path} answered {response.status_code}"
        )
    return None


@schemathesis.serializer("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
def workbook_serializer(ctx, value):
    """A workbook body as the bytes generated for it (a binary string): the registry
    reads it as XLSX and refuses what is not a workbook of the exchange layout."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()
