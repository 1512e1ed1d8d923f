#!/usr/bin/env python3
"""normalize.py NAME METHOD PATH CTYPE REQBODYFILE STATUS RESPFILE KIND OUTDIR [FILTER]
Writes OUTDIR/NAME.json with volatile fields replaced by placeholders.
KIND: json | watch (newline-delimited events) | text"""
import json, re, sys

name, method, path, ctype, reqfile, status, respfile, kind, outdir = sys.argv[1:10]
flt = sys.argv[10] if len(sys.argv) > 10 else ""

TIME_KEYS = {"creationTimestamp", "deletionTimestamp", "lastHeartbeatTime", "lastTransitionTime",
             "lastProbeTime", "startTime", "time", "startedAt", "finishedAt", "renewTime", "acquireTime"}

def scrub_msg(s):
    s = re.sub(r'resource version: \d+ \(\d+\)', 'resource version: <rv> (<rv>)', s)
    s = re.sub(r'\b\d{2,}\b', '<n>', s) if ("version" in s or "continue" in s) else s
    return s

def norm(v, key=None):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "uid" and isinstance(x, str): out[k] = "<uid>"
            elif k in TIME_KEYS and isinstance(x, str) and x: out[k] = "<time>"
            elif k == "resourceVersion" and isinstance(x, str) and x: out[k] = "<rv>"
            elif k == "selfLink" and isinstance(x, str): out[k] = "<selfLink>"
            elif k == "continue" and isinstance(x, str) and x: out[k] = "<continue>"
            elif k == "message" and isinstance(x, str): out[k] = scrub_msg(x)
            elif k == "clusterIP" and isinstance(x, str): out[k] = "<ip>"
            else: out[k] = norm(x, k)
        return out
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v

def path_norm(p):
    p = re.sub(r'resourceVersion=\d+', 'resourceVersion=<rv>', p)
    p = re.sub(r'continue=[^&]+', 'continue=<continue>', p)
    return p

def filt(obj):
    # keep only the resources the fixture serves in big discovery documents
    if flt and isinstance(obj, dict) and "resources" in obj:
        keep = set(flt.split(","))
        obj = dict(obj); obj["resources"] = [r for r in obj["resources"] if r.get("name") in keep]
        obj["_note"] = "resources filtered to: " + flt
    return obj

raw = open(respfile, "rb").read().decode("utf-8", "replace")
rec = {"request": {"method": method, "path": path_norm(path)}, "status": int(status)}
if ctype: rec["request"]["contentType"] = ctype
if reqfile and reqfile != "-":
    b = open(reqfile).read()
    try: rec["request"]["body"] = norm(json.loads(b))
    except Exception: rec["request"]["body"] = b
if kind == "watch":
    evs = []
    for line in raw.splitlines():
        line = line.strip()
        if not line: continue
        try: evs.append(norm(json.loads(line)))
        except Exception: evs.append({"_unparsed": line})
    rec["events"] = evs
else:
    try: rec["response"] = norm(filt(json.loads(raw)))
    except Exception: rec["responseText"] = raw
json.dump(rec, open(f"{outdir}/{name}.json", "w"), indent=2, sort_keys=True)
open(f"{outdir}/{name}.json", "a").write("\n")
