#!/usr/bin/env python3
"""compare.py GOLDEN_DIR FIXTURE_DIR: structural differences, one markdown bullet each."""
import json, os, sys

g_dir, f_dir = sys.argv[1:3]

def paths(v, prefix=""):
    out = set()
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{prefix}.{k}" if prefix else k
            out.add(p); out |= paths(x, p)
    elif isinstance(v, list):
        for x in v: out |= paths(x, prefix + "[]")
    return out

def names(resp):
    return [i.get("metadata", {}).get("name") for i in resp.get("items", [])] if isinstance(resp, dict) else None

def summary_event(e):
    o = e.get("object", {})
    if e.get("type") == "ERROR": return f"ERROR({o.get('code')} {o.get('reason')})"
    if e.get("type") == "BOOKMARK": return "BOOKMARK"
    return f"{e.get('type')}({o.get('metadata',{}).get('name')})"

def collapse(seq):
    out = []
    for s in seq:
        if out and out[-1][0] == s: out[-1][1] += 1
        else: out.append([s, 1])
    return ", ".join(s if n == 1 else f"{s}×{n}" for s, n in out)

for fn in sorted(os.listdir(g_dir)):
    if not fn.endswith(".json"): continue
    g = json.load(open(os.path.join(g_dir, fn)))
    fp = os.path.join(f_dir, fn)
    if not os.path.exists(fp): print(f"- `{fn}`: no fixture answer"); continue
    f = json.load(open(fp))
    diffs = []
    if g["status"] != f["status"]: diffs.append(f"status {g['status']} (real) vs {f['status']} (fixture)")
    if "events" in g or "events" in f:
        ge = collapse(map(summary_event, g.get("events", []))); fe = collapse(map(summary_event, f.get("events", [])))
        if ge != fe: diffs.append(f"events real [{ge}] vs fixture [{fe}]")
        ge_o = [e.get("object") for e in g.get("events", []) if e.get("type") not in ("BOOKMARK",)]
        fe_o = [e.get("object") for e in f.get("events", []) if e.get("type") not in ("BOOKMARK",)]
        gb = [e.get("object") for e in g.get("events", []) if e.get("type") == "BOOKMARK"]
        fb = [e.get("object") for e in f.get("events", []) if e.get("type") == "BOOKMARK"]
        if gb and fb and gb[0] != fb[0]: diffs.append(f"bookmark object real `{json.dumps(gb[0])}` vs fixture `{json.dumps(fb[0])}`")
        for go, fo in zip(ge_o, fe_o):
            if isinstance(go, dict) and go.get("kind") == "Status" and go != fo:
                diffs.append(f"ERROR object real `{json.dumps(go)}` vs fixture `{json.dumps(fo)}`")
    else:
        gr, fr = g.get("response"), f.get("response")
        if gr is None or fr is None:
            diffs.append(f"body real {'JSON' if gr is not None else 'text: ' + repr(g.get('responseText',''))[:120]} vs fixture {'JSON' if fr is not None else 'text: ' + repr(f.get('responseText',''))[:120]}")
        elif isinstance(gr, dict) and isinstance(fr, dict):
            if gr.get("kind") == "Status" or fr.get("kind") == "Status":
                for k in ("kind", "status", "reason", "code", "details", "message"):
                    if gr.get(k) != fr.get(k):
                        diffs.append(f"Status.{k} real `{json.dumps(gr.get(k))}` vs fixture `{json.dumps(fr.get(k))}`")
            else:
                if gr.get("kind") != fr.get("kind"): diffs.append(f"kind {gr.get('kind')} vs {fr.get('kind')}")
                gn, fnn = names(gr), names(fr)
                if gn != fnn and gr.get("items") is not None: diffs.append(f"items real {gn} vs fixture {fnn}")
                gp, fp_ = paths(gr), paths(fr)
                miss = sorted(p for p in gp - fp_ if not p.startswith("metadata.managedFields") and ".managedFields" not in p)
                extra = sorted(fp_ - gp)
                if miss: diffs.append("fields only in real: " + ", ".join(f"`{p}`" for p in miss[:40]) + (" …" if len(miss) > 40 else ""))
                if extra: diffs.append("fields only in fixture: " + ", ".join(f"`{p}`" for p in extra[:40]))
                for k in ("metadata.remainingItemCount",):
                    a = gr.get("metadata", {}).get("remainingItemCount"); b = fr.get("metadata", {}).get("remainingItemCount")
                    if a != b: diffs.append(f"remainingItemCount real {a} vs fixture {b}")
    if diffs:
        print(f"- `{fn}` ({g['request']['method']} {g['request']['path']}):")
        for d in diffs: print(f"  - {d}")
