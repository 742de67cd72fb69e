#!/usr/bin/env python3
"""Checks of the operations kit (deploy/prometheus, deploy/grafana); tests/ops/check.sh runs it.

    check.py static
        Metric names and labels used by the rules, alerts and dashboard exist in the metric
        catalog (the README's metrics table, generated from crates/nudge-metrics/src/names.rs);
        recorded series exist; every alert has severity, summary, description and a one-line
        runbook; every alert has a firing and a quiet unit test and every recording rule a
        unit test; the dashboard is well formed.

    check.py live --prom URL --metrics URL --job JOB
        Against a Prometheus server scraping a running `nudge run`: every rule evaluates
        without error and every recording rule has a value; every dashboard query runs without
        error and returns data unless listed in MAY_BE_EMPTY; every metric name used exists on
        the live /metrics page, and every metric on that page is documented in the README with
        its type and labels.

Needs PyYAML (check.sh installs it when missing).
"""
import glob
import json
import math
import os
import re
import sys
import urllib.parse
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = sorted(glob.glob(os.path.join(ROOT, "deploy/prometheus/rules/*.yml")))
TESTS = sorted(glob.glob(os.path.join(ROOT, "deploy/prometheus/tests/*.yml")))
DASHBOARD = os.path.join(ROOT, "deploy/grafana/nudge.json")
README = os.path.join(ROOT, "README.md")

# Labels Prometheus adds to every scraped series, and the histogram bucket label.
TARGET_LABELS = {"job", "instance"}
SEVERITIES = {"critical", "warning"}

# Dashboard queries allowed to return no data in the live check: {"panel 'TITLE' REFID":
# reason}. None today: the check's traffic (history, live journeys on a fast clock, malformed,
# unknown and late records) gives every query data. Add an entry only with a reason.
MAY_BE_EMPTY = {}

# Substitutions for Grafana's variables in the live check (scrape interval 1 s).
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m"}

PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2",
}

failures = []


def fail(msg):
    failures.append(msg)
    print(f"  FAIL {msg}")


# --- Loading ---------------------------------------------------------------------------------

def readme_catalog():
    """{name: (type, [labels])} from the README's metrics table."""
    text = open(README, encoding="utf-8").read()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    catalog = {}
    for line in section.splitlines():
        m = re.match(r"^\|\s*`(nudge_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|([^|]*)\|", line)
        if m:
            labels = [l.strip() for l in m.group(3).split(",") if l.strip()]
            catalog[m.group(1)] = (m.group(2), labels)
    if not catalog:
        fail("README.md: no metrics table found under '## Metrics'")
    return catalog


def load_rules():
    """[(file, rule dict)] for every rule of every rules file."""
    out = []
    for path in RULES:
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                out.append((os.path.relpath(path, ROOT), rule))
    return out


def dashboard_panels(dash):
    """Every panel, rows' nested panels included."""
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def dashboard_queries(dash):
    """[(where, expr)] for every panel target and every query variable."""
    out = []
    for p in dashboard_panels(dash):
        for t in p.get("targets", []) or []:
            if t.get("expr"):
                out.append((f"panel '{p.get('title')}' {t.get('refId')}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.match(r"^\s*label_values\((.*),\s*\w+\)\s*$", q or "")
            out.append((f"variable ${v.get('name')}", m.group(1) if m else q))
    return out


# --- PromQL scanning -----------------------------------------------------------------------

def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)


def metric_names(expr):
    """Metric and recorded-series names an expression selects."""
    e = strip_strings(expr)
    e = re.sub(r"\{[^}]*\}", " ", e)                      # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)                     # range and subquery windows
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        after = e[m.end():].lstrip()
        if word.lower() in PROMQL_KEYWORDS or after.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def label_refs(expr):
    """Label names an expression matches on or groups by."""
    e = strip_strings(expr)
    labels = set()
    for m in re.finditer(r"\{([^}]*)\}", e):
        labels.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(1)))
    for m in re.finditer(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", e):
        labels.update(l.strip() for l in m.group(1).split(",") if l.strip())
    return labels


def catalog_entry(catalog, series):
    """The catalog entry of a series name: a metric, or a histogram's _bucket/_sum/_count."""
    if series in catalog:
        return series, catalog[series]
    for suffix in ("_bucket", "_sum", "_count"):
        base = series[: -len(suffix)] if series.endswith(suffix) else None
        if base and base in catalog and catalog[base][0] == "histogram":
            return base, catalog[base]
    return None, None


def recorded_labels(rules):
    """{recorded name: labels it can carry}: its grouping labels, its static labels and those
    of the series it reads (an over-approximation, enough to catch a misspelt label)."""
    out = {}
    for _, r in rules:
        if "record" in r:
            labs = set(label_refs(r["expr"])) | set((r.get("labels") or {}).keys())
            out.setdefault(r["record"], set()).update(labs)
    changed = True
    while changed:
        changed = False
        for _, r in rules:
            if "record" not in r:
                continue
            for name in metric_names(r["expr"]):
                extra = out.get(name, set()) - out[r["record"]]
                if extra:
                    out[r["record"]] |= extra
                    changed = True
    return out


def check_expr(where, expr, catalog, recorded, raw_used, rec_used):
    for name in sorted(metric_names(expr)):
        if ":" in name:
            if name not in recorded:
                fail(f"{where}: recorded series {name} is not defined in deploy/prometheus/rules")
            rec_used.add(name)
            continue
        base, entry = catalog_entry(catalog, name)
        if entry is None:
            fail(f"{where}: metric {name} is not in the metric catalog (README metrics table)")
            continue
        raw_used.add(base)
    allowed = set(TARGET_LABELS) | {"le"}
    for name in metric_names(expr):
        if ":" in name:
            allowed |= recorded.get(name, set())
        else:
            _, entry = catalog_entry(catalog, name)
            if entry:
                allowed |= set(entry[1])
    for label in sorted(label_refs(expr) - allowed):
        fail(f"{where}: label '{label}' is not a label of the series this expression reads")


# --- Static ---------------------------------------------------------------------------------

def static():
    catalog = readme_catalog()
    rules = load_rules()
    recorded = recorded_labels(rules)
    raw_used, rec_used = set(), set()
    alerts = {}

    print(f"catalog: {len(catalog)} metrics; rules: {len(recorded)} recorded series, "
          f"{sum(1 for _, r in rules if 'alert' in r)} alerts")
    for path, r in rules:
        kind = "record" if "record" in r else "alert"
        name = r.get(kind)
        check_expr(f"{path} {kind} {name}", r["expr"], catalog, recorded, raw_used, rec_used)
        if kind == "alert":
            alerts[name] = r
            sev = (r.get("labels") or {}).get("severity")
            if sev not in SEVERITIES:
                fail(f"alert {name}: severity {sev!r} is not one of {sorted(SEVERITIES)}")
            ann = r.get("annotations") or {}
            for key in ("summary", "description", "runbook"):
                if not str(ann.get(key, "")).strip():
                    fail(f"alert {name}: no {key} annotation")
            if "\n" in str(ann.get("runbook", "")).strip():
                fail(f"alert {name}: runbook is more than one line")

    # Unit tests: every alert fires in one case and stays quiet in another; every recording
    # rule is the subject of an expression test with expected samples.
    fires, quiet, tested = set(), set(), set()
    for path in TESTS:
        doc = yaml.safe_load(open(path, encoding="utf-8"))
        for t in doc.get("tests", []):
            for a in t.get("alert_rule_test", []) or []:
                (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
            for p in t.get("promql_expr_test", []) or []:
                if p.get("exp_samples"):
                    tested.update(n for n in metric_names(p["expr"]) if ":" in n)
    for name in sorted(alerts):
        if name not in fires:
            fail(f"alert {name}: no unit test where it fires")
        if name not in quiet:
            fail(f"alert {name}: no unit test where it stays quiet")
    for name in sorted(recorded):
        if name not in tested:
            fail(f"recording rule {name}: no unit test with expected samples")

    # Dashboard.
    dash = json.load(open(DASHBOARD, encoding="utf-8"))
    if not 36 <= int(dash.get("schemaVersion", 0)) <= 41:
        fail(f"dashboard: schemaVersion {dash.get('schemaVersion')} (expected about 39)")
    ids = set()
    for p in dashboard_panels(dash):
        if p.get("id") in ids:
            fail(f"dashboard: panel id {p.get('id')} used twice")
        ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != "prometheus":
            fail(f"dashboard: panel '{p.get('title')}' does not use datasource uid 'prometheus'")
        if not p.get("targets"):
            fail(f"dashboard: panel '{p.get('title')}' has no query")
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != "prometheus":
                fail(f"dashboard: panel '{p.get('title')}' {t.get('refId')}: datasource uid")
            if not t.get("expr"):
                fail(f"dashboard: panel '{p.get('title')}' {t.get('refId')}: no expr")
    queries = dashboard_queries(dash)
    for where, expr in queries:
        check_expr(f"dashboard {where}", expr, catalog, recorded, raw_used, rec_used)
    print(f"dashboard: {sum(1 for p in dashboard_panels(dash) if p.get('type') != 'row')} panels, "
          f"{len(queries)} queries")
    print(f"names used: {len(raw_used)} catalog metrics, {len(rec_used)} recorded series; "
          f"catalog metrics used nowhere: {', '.join(sorted(set(catalog) - raw_used)) or 'none'}")


# --- Live -----------------------------------------------------------------------------------

def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode("utf-8")


def query(prom, expr):
    """(result list, error or None) of an instant query."""
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        body = json.loads(get(url))
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read().decode("utf-8"))
        except ValueError:
            return None, str(e)
    except (OSError, ValueError) as e:
        return None, str(e)
    if body.get("status") != "success":
        return None, f"{body.get('errorType')}: {body.get('error')}"
    return body["data"]["result"], None


def finite(result):
    return [s for s in result if not math.isnan(float(s["value"][1]))]


def parse_page(text):
    """{name: (type, label names)} from a /metrics page (histogram series under their base)."""
    types, labels = {}, {}
    for line in text.splitlines():
        m = re.match(r"^# TYPE (\S+) (\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
            labels.setdefault(m.group(1), set())
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s", line)
        if not m:
            continue
        name = m.group(1)
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                base = name[: -len(suffix)]
        names = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(2) or ""))
        labels.setdefault(base, set()).update(names - {"le"})
    return {n: (types.get(n, "untyped"), labels.get(n, set())) for n in set(types) | set(labels)}


def live(prom, metrics_url, job):
    catalog = readme_catalog()
    rules = load_rules()
    recorded = recorded_labels(rules)
    dash = json.load(open(DASHBOARD, encoding="utf-8"))

    # Rules: loaded, evaluated without error; every recorded series has a value.
    groups = json.loads(get(f"{prom}/api/v1/rules"))["data"]["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    expected = sum(1 for _ in rules)
    if len(loaded) != expected:
        fail(f"Prometheus loaded {len(loaded)} rules, the files have {expected}")
    for r in loaded:
        if r.get("health") != "ok":
            fail(f"rule {r.get('name')}: health {r.get('health')} {r.get('lastError', '')}")
    firing = [r["name"] for r in loaded if r.get("type") == "alerting" and r.get("state") != "inactive"]
    print(f"rules: {len(loaded)} loaded, all evaluated without error"
          if not any(r.get('health') != 'ok' for r in loaded) else "rules: evaluation errors")
    print(f"alerts pending or firing during the run (informational): {', '.join(firing) or 'none'}")
    for name in sorted(recorded):
        result, err = query(prom, f'{name}{{job="{job}"}}')
        if err:
            fail(f"recorded {name}: {err}")
        elif not finite(result):
            fail(f"recorded {name}: no value")
        else:
            shown = ", ".join(
                "{" + ",".join(f'{k}="{v}"' for k, v in sorted(s["metric"].items())
                               if k not in ("__name__", "job")) + "} " + f"{float(s['value'][1]):.4g}"
                for s in result[:3])
            print(f"  ok {name}: {len(result)} series, e.g. {shown}")

    # Dashboard: every query runs; each returns data unless exempt.
    raw_used, rec_used = set(), set()
    with_data = 0
    for where, expr in dashboard_queries(dash):
        check_expr(f"dashboard {where}", expr, catalog, recorded, raw_used, rec_used)
        q = expr.replace("$job", job)
        for k, v in GRAFANA_VARS.items():
            q = q.replace(k, v)
        result, err = query(prom, q)
        if err:
            fail(f"dashboard {where}: {err}\n    {q}")
        elif finite(result):
            with_data += 1
        elif where not in MAY_BE_EMPTY:
            fail(f"dashboard {where}: no data\n    {q}")
    print(f"dashboard: {len(dashboard_queries(dash))} queries ran, {with_data} returned data")

    # Names used by rules, alerts and dashboard exist on the live page; the page is documented.
    for path, r in rules:
        check_expr(f"{path} {r.get('record') or r.get('alert')}", r["expr"], catalog, recorded,
                   raw_used, rec_used)
    page = parse_page(get(metrics_url))
    for name in sorted(raw_used):
        if name not in page:
            fail(f"metric {name} is used by rules or dashboard but not on the live /metrics page")
    for name, (kind, labels) in sorted(page.items()):
        doc = catalog.get(name)
        if doc is None:
            fail(f"live metric {name} is not documented in README.md")
            continue
        if doc[0] != kind:
            fail(f"live metric {name}: type {kind}, README says {doc[0]}")
        if labels != set(doc[1]):
            fail(f"live metric {name}: labels {sorted(labels)}, README says {doc[1]}")
    missing = sorted(set(catalog) - set(page))
    print(f"/metrics: {len(page)} metrics, all documented; {len(raw_used)} used by rules and "
          f"dashboard, all present; catalog metrics not on the page this run: "
          f"{', '.join(missing) or 'none'}")


def main():
    args = sys.argv[1:]
    if args[:1] == ["static"]:
        static()
    elif args[:1] == ["live"]:
        opts = dict(zip(args[1::2], args[2::2]))
        live(opts["--prom"], opts["--metrics"], opts["--job"])
    else:
        print(__doc__)
        return 2
    if failures:
        print(f"check.py {args[0]}: {len(failures)} failure(s)")
        return 1
    print(f"check.py {args[0]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
