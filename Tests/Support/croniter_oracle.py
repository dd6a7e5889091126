#!/usr/bin/env python3
"""croniter (PyPI) as an independent oracle for cron next fire times. Reads JSON lines
{"expr": ..., "start": epoch seconds, "tz": IANA name, "count": n} on stdin; writes, per line, a JSON
list of the next n fire times as epoch seconds, or {"error": ...}. 6-field expressions have seconds
first; day-of-month and day-of-week combine as Vixie cron does (croniter's implement_cron_bug)."""
import datetime
import json
import sys
import zoneinfo

from croniter import croniter

for line in sys.stdin:
    case = json.loads(line)
    try:
        zone = zoneinfo.ZoneInfo(case["tz"])
        start = datetime.datetime.fromtimestamp(case["start"], tz=zone)
        it = croniter(case["expr"], start, implement_cron_bug=True, second_at_beginning=len(case["expr"].split()) == 6)
        print(json.dumps([int(it.get_next(datetime.datetime).timestamp()) for _ in range(case["count"])]), flush=False)
    except Exception as error:  # noqa: BLE001 - any refusal is an answer to compare
        print(json.dumps({"error": repr(error)}))
sys.stdout.flush()
