#!/usr/bin/python3
# A lab tool the Patroni scenarios put on the PostgreSQL nodes (not part of the
# runbook): what Patroni's REST API says, as lines a scenario can match.
#   patroni-view [HOST]            GET /cluster: "NAME ROLE STATE tl=N lag=L" per member
#                                  (sorted; lag "-" for the leader), then the leader's
#                                  GET /patroni replication rows: "replication NAME
#                                  STATE SYNC_STATE"
#   patroni-view --leader [HOST]   the leader's name alone (exit 1 when there is none)
#   patroni-view --timeline [HOST] the leader's timeline alone
#   patroni-view --failsafe [HOST] GET /failsafe: "failsafe members: NAME..." (the members
#                                  the leader asks when the DCS is gone; exit 1 without)
#   patroni-view --failsafe-active [HOST]  GET /patroni's failsafe_mode_is_active:
#                                  "failsafe active" or "failsafe inactive"
# HOST defaults to this node's REST API (127.0.0.1:8008). Patroni 3.0.2 says "running"
# for a streaming replica in /cluster; only the leader's /patroni shows "streaming".
import json
import sys
import urllib.request


def get(host, path):
    with urllib.request.urlopen(f"http://{host}:8008{path}", timeout=5) as r:
        return json.load(r)


args = sys.argv[1:]
mode = args.pop(0) if args and args[0].startswith("--") else "--view"
host = args[0] if args else "127.0.0.1"
if mode == "--failsafe":
    try:
        print("failsafe members:", " ".join(sorted(get(host, "/failsafe"))))
    except OSError as e:  # Patroni answers an error status while failsafe_mode is off
        sys.exit(f"no failsafe: {e}")
    sys.exit(0)
if mode == "--failsafe-active":
    active = get(host, "/patroni").get("failsafe_mode_is_active", False)
    print("failsafe active" if active else "failsafe inactive")
    sys.exit(0)
members = sorted(get(host, "/cluster")["members"], key=lambda m: m["name"])
leader = next((m for m in members if m["role"] == "leader"), None)
if mode == "--leader":
    if not leader:
        sys.exit(1)
    print(leader["name"])
elif mode == "--timeline":
    if not leader:
        sys.exit(1)
    print(leader.get("timeline", 0))
else:
    for m in members:
        print(m["name"], m["role"], m["state"], f"tl={m.get('timeline')}", f"lag={m.get('lag', '-')}")
    if leader:
        p = get(leader["host"], "/patroni")
        for r in sorted(p.get("replication", []), key=lambda r: r["application_name"]):
            print("replication", r["application_name"], r["state"], r["sync_state"])
