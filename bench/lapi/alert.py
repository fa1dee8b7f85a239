"""alert.py N: one alert with N ban decisions on 10.x.y.z, as `cscli decisions import` posts it."""
import json
import sys

n = int(sys.argv[1])
now = "2026-11-28T00:00:00Z"
decisions = [{"duration": "24h", "origin": "cscli", "scenario": "bench import", "scope": "Ip",
              "type": "ban", "value": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)}
             for i in range(1, n + 1)]
alert = {"capacity": 0, "decisions": decisions, "events": [], "events_count": 1, "leakspeed": "0",
         "message": "bench import", "scenario": "bench import", "scenario_hash": "",
         "scenario_version": "", "simulated": False, "source": {"scope": "cscli", "value": "bench"},
         "start_at": now, "stop_at": now, "remediation": True}
print(json.dumps([alert]))
