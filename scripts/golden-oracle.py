"""Recomputes the golden recognition answers from the sample catalog, independently.

usage: golden-oracle.py

Reads sample/*.json and tests/api/golden/recognition-questions.txt, decides each
question (and each ordered pair for the days in tests/api/golden/stats.json) by the rules as docs/API.md and the status query's description state them (a
second reading, written without the Rust code), builds the complete answer, and compares
it field by field with tests/api/golden/recognition-status.json. Exits 1 on any
difference: either the server or the golden file is wrong, and a person must look.
"""

import json
import sys
import unicodedata
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
ITEMS = json.loads((ROOT / "sample/recognition-items.json").read_text(encoding="utf-8"))
GOLDEN = json.loads((ROOT / "tests/api/golden/recognition-status.json").read_text(encoding="utf-8"))
GOLDEN_STATS = json.loads((ROOT / "tests/api/golden/stats.json").read_text(encoding="utf-8"))
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
        "explanation": EXPLANATIONS[why],
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
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"golden-oracle: {len(QUESTIONS)} golden recognition answers and the recognised-pair counts of {len(GOLDEN_STATS)} days agree with an independent reading of the sample")


if __name__ == "__main__":
    main()
