"""The export files as their consumers read them, with tools the registry did not write.

    python contract/exchange_check.py BASE_URL TOKEN

1. openpyxl reads the XLSX export; each worksheet holds exactly the rows of the CSV
   export of that sheet, which Python's csv module reads as a spreadsheet program's
   "CSV UTF-8" (byte order mark, quoted fields, line breaks inside cells).
2. The workbook saved again by openpyxl, and each CSV sheet written again by the csv
   module, as a spreadsheet program saves what it opened, import (dry run, with a
   region's editor token) as unchanged: nothing in either format is lost or altered on
   the way through another program.
"""

import csv
import io
import json
import sys
import urllib.request

import openpyxl

base, token = sys.argv[1], sys.argv[2]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get(path):
    with urllib.request.urlopen(f"{base}{path}") as response:
        return response.read()


def dry_run(path, media_type, body):
    request = urllib.request.Request(
        f"{base}{path}?dry_run=true",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": media_type},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        sys.exit(f"{path}: {error.code} {error.read().decode()}")


def cell_text(value):
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


workbook = openpyxl.load_workbook(io.BytesIO(get("/api/v1/export?format=xlsx")))
checked = 0
for sheet in workbook.worksheets:
    raw = get(f"/api/v1/export/sheets/{sheet.title}")
    assert raw.startswith(b"\xef\xbb\xbf"), f"{sheet.title}: the CSV has no byte order mark"
    csv_rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    xlsx_rows = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    width = len(csv_rows[0])
    xlsx_rows = [row + [""] * (width - len(row)) for row in xlsx_rows]
    if xlsx_rows != csv_rows:
        for number, (a, b) in enumerate(zip(xlsx_rows, csv_rows), start=1):
            if a != b:
                sys.exit(f"{sheet.title} row {number}: XLSX {a} but CSV {b}")
        sys.exit(f"{sheet.title}: {len(xlsx_rows)} rows in XLSX, {len(csv_rows)} in CSV")
    checked += len(csv_rows) - 1

    # The sheet as a spreadsheet program saves "CSV UTF-8".
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows)
    report = dry_run(f"/api/v1/import/sheets/{sheet.title}", "text/csv", ("\ufeff" + out.getvalue()).encode())
    assert report["problems"] == [] and report["entries"] == [], f"{sheet.title}: {report}"

# The workbook as another program saves it.
saved = io.BytesIO()
workbook.save(saved)
report = dry_run("/api/v1/import", XLSX, saved.getvalue())
assert report["problems"] == [] and report["entries"] == [], report
print(f"openpyxl and csv read {len(workbook.worksheets)} sheets, {checked} rows alike; "
      f"resaved, the workbook and every sheet import as unchanged ({report['unchanged']} entries)")
