"""Reads /metrics with the Prometheus project's own OpenMetrics parser, as a scraper
would, and checks that the series an operator alerts on are there and plausible.

Usage: metrics_check.py BASE_URL
"""
import sys
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families

base = sys.argv[1]
urllib.request.urlopen(f"{base}/api/v1/regions").read()
with urllib.request.urlopen(f"{base}/metrics") as response:
    content_type = response.headers["Content-Type"]
    text = response.read().decode("utf-8")
assert content_type.startswith("application/openmetrics-text"), content_type

families = {family.name: family for family in text_string_to_metric_families(text)}
for name, kind in [
    ("registry_http_requests", "counter"),
    ("registry_http_request_duration_seconds", "histogram"),
    ("registry_rate_limited_requests", "counter"),
    ("registry_db_pool_connections", "gauge"),
    ("registry_read_model_sequence", "gauge"),
    ("registry_read_model_lag_changes", "gauge"),
    ("registry_change_feed_head", "gauge"),
    ("registry_database_up", "gauge"),
    ("registry_audit_chain_head", "gauge"),
    ("registry_webhook_backlog_changes", "gauge"),
    ("registry_webhook_failing_subscriptions", "gauge"),
]:
    assert name in families, f"{name} missing; have {sorted(families)}"
    assert families[name].type == kind, (name, families[name].type)


def value(name, **labels):
    for sample in families[name].samples:
        if sample.name in (name, f"{name}_total") and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    raise AssertionError(f"no sample of {name} with {labels}")


regions = value("registry_http_requests", route="/api/v1/regions", method="GET", status="200")
assert regions >= 1, regions
assert value("registry_database_up") == 1
assert value("registry_read_model_sequence") == value("registry_change_feed_head")
print(f"{len(families)} metric families parsed; /api/v1/regions answered {int(regions)} times")
