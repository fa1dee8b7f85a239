"""alert.py N DIR: N ban decisions on 10.x.y.z as `cscli decisions import` posts them, one alert per
100k decisions (a POST body stays under the Local API's 50 MiB limit), written to DIR/alert-K.json."""
import json
import os
import sys

n, out = int(sys.argv[1]), sys.argv[2]
CHUNK = 100000
now = "2026-11-28T00:00:00Z"
for k, first in enumerate(range(1, n + 1, CHUNK)):
    decisions = [{"duration": "24h", "origin": "cscli", "scenario": "bench import", "scope": "Ip",
                  "type": "ban", "value": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)}
                 for i in range(first, min(first + CHUNK, n + 1))]
    alert = {"capacity": 0, "decisions": decisions, "events": [], "events_count": 1,
             "leakspeed": "0", "message": "bench import", "scenario": "bench import",
             "scenario_hash": "", "scenario_version": "", "simulated": False,
             "source": {"scope": "cscli", "value": "bench"}, "start_at": now, "stop_at": now,
             "remediation": True}
    with open(os.path.join(out, "alert-%03d.json" % k), "w") as fh:
        json.dump([alert], fh)
