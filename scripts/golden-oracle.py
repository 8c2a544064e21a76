"""Recomputes the golden answers from the sample catalog, independently.

usage: golden-oracle.py

Reads sample/*.json and tests/api/golden/recognition-questions.txt, decides each
question (and each ordered pair for the days in tests/api/golden/stats.json) by the
rules as docs/API.md and the status query's description state them (a second reading,
written without the Rust code), builds the complete answer, and compares it field by
field with tests/api/golden/recognition-status.json. It also recounts the catalog on each
day of tests/api/golden/stats.json (what was published by then and not retired, what a
window saw published) and each target's progress in tests/api/golden/targets.json.
Exits 1 on any difference: either the server or the golden file is wrong, and a person
must look.
"""

import json
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
import unicodedata
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
ITEMS = json.loads((ROOT / "sample/recognition-items.json").read_text(encoding="utf-8"))
GOLDEN = json.loads((ROOT / "tests/api/golden/recognition-status.json").read_text(encoding="utf-8"))
GOLDEN_STATS = json.loads((ROOT / "tests/api/golden/stats.json").read_text(encoding="utf-8"))
GOLDEN_TARGETS = json.loads((ROOT / "tests/api/golden/targets.json").read_text(encoding="utf-8"))
STANDARD = json.loads((ROOT / "sample/standard-items.json").read_text(encoding="utf-8"))
SCENARIOS = json.loads((ROOT / "sample/scenarios.json").read_text(encoding="utf-8"))
PUBLISHED = {b["code"]: b["published_on"] for b in json.loads((ROOT / "sample/batches.json").read_text(encoding="utf-8"))}
QUESTIONS = [
    line
    for line in (ROOT / "tests/api/golden/recognition-questions.txt").read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#")
]

EXPLANATIONS = {
    "retired": "The item had been retired from the mutual-recognition catalog by this date.",
    "none": "There is no recognition arrangement for this issuer and accepting region.",
    "revoked": "Recognition under this arrangement has been revoked.",
    "arrangement suspended": "Recognition under this arrangement is suspended.",
    "item suspended": "The whole item was suspended on this date.",
    "region suspended": "The accepting region has suspended its acceptance on this date (see `suspension`).",
    "in force": "An arrangement is in force on this date.",
    "last revoked": "The most recent arrangement was revoked.",
    "ended": "The most recent arrangement ended before this date.",
    "future revoked": "The only arrangement, due to start later, has been revoked.",
    "future suspended": "The arrangement, due to start later, is suspended.",
    "future": "An arrangement exists but is not yet in force on this date.",
}


def fold(text):
    return unicodedata.normalize("NFKC", text).lower().strip()


def find_item(question, issued_in):
    if "item" in question:
        return next(item for item in ITEMS if item["code"] == question["item"])
    wanted = fold(question["local_code"])
    return next(
        item
        for item in ITEMS
        for part in item["local_parts"]
        if part["region"] == issued_in and part.get("local_code") and fold(part["local_code"]) == wanted
    )


def decide(item, issued_in, used_in, day):
    """(decision, deciding period or None, explanation key)."""
    pair = [a for a in item["arrangements"] if a["issued_in"] == issued_in and a["used_in"] == used_in]
    covering = [a for a in pair if a["effective_from"] <= day and (a["effective_to"] is None or day <= a["effective_to"])]
    current = covering[0] if covering else None
    since = item.get("status_since")
    item_status_counts = item["status"] != "active" and (since is None or since <= day)
    if item_status_counts and item["status"] == "retired":
        return "not_recognised", current, "retired"
    if not pair:
        return "no_arrangement", None, "none"
    if current:
        if current["status"] == "revoked":
            return "not_recognised", current, "revoked"
        if current["status"] == "suspended":
            return "suspended", current, "arrangement suspended"
        if item_status_counts:
            return "suspended", current, "item suspended"
        if own_suspension(item, issued_in, used_in, day):
            return "suspended", current, "region suspended"
        return "recognised", current, "in force"
    past = [a for a in pair if a["effective_to"] is not None and a["effective_to"] < day]
    if past:
        last = max(past, key=lambda a: a["effective_from"])
        if last["status"] == "revoked":
            return "not_recognised", last, "last revoked"
        return "expired", last, "ended"
    future = min((a for a in pair if a["effective_from"] > day), key=lambda a: a["effective_from"])
    if future["status"] == "revoked":
        return "not_recognised", future, "future revoked"
    if future["status"] == "suspended":
        return "suspended", future, "future suspended"
    return "not_yet_in_force", future, "future"


def own_suspension(item, issued_in, used_in, day):
    """The accepting region's own suspension covering the day: from its first day until
    (not including) its lifting day, for every issuing region or the one it names."""
    return next(
        (
            s
            for s in item.get("suspensions", [])
            if s["used_in"] == used_in
            and s.get("issued_in") in (None, issued_in)
            and s["effective_from"] <= day
            and (s.get("lifted_on") is None or day < s["lifted_on"])
        ),
        None,
    )


def answer(query):
    question = dict(parse_qsl(query))
    issued_in, used_in, day = question["issued_in"].upper(), question["used_in"].upper(), question["on"]
    item = find_item(question, issued_in)
    decision, period, why = decide(item, issued_in, used_in, day)
    part = {p["region"]: p for p in item["local_parts"]}
    return {
        "decision": decision,
        "recognised": decision == "recognised",
        "item": item["code"],
        "item_version": 1,
        "item_name_zh": item["name_zh"],
        "item_name_en": item["name_en"],
        "issued_in": issued_in,
        "used_in": used_in,
        "on": day,
        "local_code": part.get(issued_in, {}).get("local_code"),
        "mode": period and period["mode"],
        "conditions_zh": period and period.get("conditions_zh"),
        "conditions_en": period and period.get("conditions_en"),
        "effective_from": period and period["effective_from"],
        "effective_to": period and period["effective_to"],
        "arrangement_status": period and period["status"],
        "legal_basis": item["legal_basis"],
        "accepting_department": part.get(used_in, {}).get("accepting_department"),
        "verification": part.get(used_in, {}).get("verification"),
        "explanation": EXPLANATIONS[why],
        "suspension": own_suspension(item, issued_in, used_in, day) if why == "region suspended" else None,
    }


def status_on(entry, day):
    """A suspension or retirement counts from status_since (from always when unknown)."""
    since = entry.get("status_since")
    return "active" if since and day < since else entry["status"]


def in_catalog(entry, day):
    return PUBLISHED[entry["batch"]] <= day and status_on(entry, day) != "retired"


def launched(scenario, day):
    return scenario["launched_on"] <= day and status_on(scenario, day) != "retired"


def member(item, programme, day):
    """The day the item joined `programme`, if it is a member on `day`."""
    for m in item["programmes"]:
        if m["programme"] == programme and m["joined_on"] <= day and (m["left_on"] is None or day <= m["left_on"]):
            return m["joined_on"]
    return None


def tally(keys):
    counts = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return counts


def recount(day, window):
    """The counts /stats gives for `day` (and the window), as this script reads the rules."""
    items = [i for i in ITEMS if in_catalog(i, day)]
    standard = [i for i in STANDARD if in_catalog(i, day)]
    scenarios = [s for s in SCENARIOS if launched(s, day)]
    counts = {
        "recognition_items": len(items),
        "standard_items": len(standard),
        "scenarios": len(scenarios),
        "recognition_items_by_kind": tally(i["kind"] for i in items),
        "recognition_items_by_status": tally(status_on(i, day) for i in items),
        "standard_items_by_programme": tally(m["programme"] for i in standard for m in i["programmes"] if member(i, m["programme"], day)),
        "scenarios_by_status": tally(status_on(s, day) for s in scenarios),
        "by_batch": tally(e["batch"] for e in items + standard + scenarios),
        "regions": {
            region: (
                sum(region in i["regions"] for i in items),
                sum(any(p["region"] == region for p in i["local_parts"]) for i in standard),
                sum(region in s["regions"] for s in scenarios),
            )
            for region in ["BJ", "TJ", "HE"]
        },
        "published": None,
    }
    if window:
        start, end = window
        inside = lambda d: start <= d <= end
        new_items = [i for i in ITEMS if inside(PUBLISHED[i["batch"]])]
        counts["published"] = {
            "recognition_items": len(new_items),
            "recognition_items_by_kind": tally(i["kind"] for i in new_items),
            "standard_items": sum(inside(PUBLISHED[i["batch"]]) for i in STANDARD),
            "scenarios": sum(inside(s["launched_on"]) for s in SCENARIOS),
            "programme_memberships": tally(m["programme"] for i in STANDARD for m in i["programmes"] if inside(m["joined_on"])),
        }
    return counts


def served_counts(stats):
    served = {key: stats[key] for key in ["recognition_items", "standard_items", "scenarios", "recognition_items_by_kind", "recognition_items_by_status", "standard_items_by_programme", "scenarios_by_status", "by_batch"]}
    served["regions"] = {
        region: (counts["recognition_items"], counts["standard_items"], counts["scenarios"])
        for region, counts in stats["by_region"].items()
    }
    window = stats["published"]
    served["published"] = window and {key: window[key] for key in ["recognition_items", "recognition_items_by_kind", "standard_items", "scenarios", "programme_memberships"]}
    return served, window and (window["from"], window["to"])


def progress(target, day):
    metric = target["metric"]
    start, end = metric.get("window_from") or "0000-00-00", metric.get("window_to") or "9999-99-99"
    region = metric.get("region")
    if metric["counts"] == "recognition_item":
        dated = [(PUBLISHED[i["batch"]], i) for i in ITEMS if in_catalog(i, day)
                 and (not region or region in i["regions"]) and (not metric.get("item_kind") or i["kind"] == metric["item_kind"])]
    elif metric["counts"] == "standard_item":
        programme = metric.get("programme")
        dated = [(member(i, programme, day) if programme else PUBLISHED[i["batch"]], i) for i in STANDARD if in_catalog(i, day)
                 and (not region or any(p["region"] == region for p in i["local_parts"]))]
        dated = [(d, i) for d, i in dated if d]
    else:
        dated = [(s["launched_on"], s) for s in SCENARIOS if launched(s, day) and (not region or region in s["regions"])]
    value = sum(start <= d <= end for d, _ in dated)
    goal = target["target_value"]
    state = "met" if value >= goal else ("open" if day <= target["deadline"] else "missed")
    return {
        "on": day,
        "value": value,
        "target_value": goal,
        "remaining": max(goal - value, 0),
        "percent": float((Decimal(value) * 100 / Decimal(goal)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
        "state": state,
        "days_to_deadline": (date.fromisoformat(target["deadline"]) - date.fromisoformat(day)).days,
    }


def main():
    golden = {entry["question"]: entry["answer"] for entry in GOLDEN}
    problems = []
    decisions, modes = set(), set()
    for query in QUESTIONS:
        expected = answer(query)
        decisions.add(expected["decision"])
        modes.add(expected["mode"])
        actual = golden.get(query)
        if actual is None:
            problems.append(f"{query}: no golden answer")
            continue
        for field in sorted(set(expected) | set(actual)):
            if expected.get(field, "<absent>") != actual.get(field, "<absent>"):
                problems.append(f"{query}: {field}: golden {actual.get(field, '<absent>')!r}, oracle {expected.get(field, '<absent>')!r}")
    for decision in ["recognised", "not_recognised", "not_yet_in_force", "expired", "suspended", "no_arrangement"]:
        if decision not in decisions:
            problems.append(f"no question is decided `{decision}`")
    for mode in ["direct", "filing", "exchange", "conditional"]:
        if mode not in modes:
            problems.append(f"no question is answered with mode `{mode}`")
    for stats in GOLDEN_STATS:
        day = stats["as_of"]
        for pair in stats["recognised_pairs"]:
            count = sum(
                1
                for item in ITEMS
                if decide(item, pair["issued_in"], pair["used_in"], day)[0] == "recognised"
            )
            if count != pair["recognised_items"]:
                problems.append(f"stats on {day}: {pair['issued_in']}→{pair['used_in']}: golden {pair['recognised_items']}, oracle {count}")
    for stats in GOLDEN_STATS:
        served, window = served_counts(stats)
        expected = recount(stats["as_of"], window)
        for key in sorted(expected):
            if expected[key] != served[key]:
                problems.append(f"stats on {stats['as_of']}: {key}: golden {served[key]}, oracle {expected[key]}")
    targets = {t["code"]: t for t in json.loads((ROOT / "sample/targets.json").read_text(encoding="utf-8"))}
    for listing in GOLDEN_TARGETS:
        for served in listing["items"]:
            expected = progress(targets[served["code"]], listing["on"])
            if expected != served["progress"]:
                problems.append(f"target {served['code']} on {listing['on']}: golden {served['progress']}, oracle {expected}")
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"golden-oracle: {len(QUESTIONS)} golden recognition answers, the counts of {len(GOLDEN_STATS)} days and the progress of {len(targets)} targets on {len(GOLDEN_TARGETS)} days agree with an independent reading of the sample")


if __name__ == "__main__":
    main()
