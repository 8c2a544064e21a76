#!/usr/bin/env python3
"""A large catalog for the exchange benchmark: the sample catalog's JSON export with
ITEMS more recognition items, each a copy of a sample item under a new code (and new
local codes, which are unique per region).

    python3 bench/generate.py sample-export.json 100000 > big.json
"""
import json
import sys

source, count = sys.argv[1], int(sys.argv[2])
document = json.load(open(source, encoding="utf-8"))
originals = document["recognition_items"]
generated = []
for i in range(count):
    item = json.loads(json.dumps(originals[i % len(originals)]))
    item["code"] = f"RI-GEN-{i:06d}"
    item.pop("superseded_by", None)
    for part in item["local_parts"]:
        if part.get("local_code"):
            part["local_code"] = f"{part['local_code']}-G{i:06d}"
    generated.append(item)
document["recognition_items"] = originals + generated
json.dump(document, sys.stdout, ensure_ascii=False)
