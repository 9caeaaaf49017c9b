#!/usr/bin/env python3
"""The benchmark driver: ours against the Go helper and against the floor.

Run it through benches/run.sh, which builds what it needs and starts this
script inside a private network, mount and PID namespace:

    unshare --net --mount --pid --fork --mount-proc python3 bench.py inner ...

Inside, it brings up loopback, makes a test CA and a server certificate for
the ECR API hosts, bind-mounts a private /etc/hosts that points
api.ecr.<region>.amazonaws.com at 127.0.0.1, starts the TLS fake ECR
(benches/fake-ecr) on 127.0.0.1:443, and adds a veth pair holding
169.254.0.1/16 on which nothing answers (instance metadata connects hang,
as on a real non-EC2 network).
No packet can leave the namespace. Both helpers find the fake exactly as on
a real host: by name, over TLS, trusting AWS_CA_BUNDLE; no endpoint
variable is set for either.

Every helper process is started the same way (posix_spawn, the request on a
pipe, stdout and stderr on pipes) and timed from the spawn to its reaping by
wait4, which also gives its peak RSS. The helpers (ours, Go, floor) are
interleaved within each round, and the order rotates from round to round, so
drift and position affect all of them alike. Every figure is the median of
the rounds, with min and max.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

REGIONS = ["us-east-1", "eu-west-1"]
# Eight registries in two regions, for the concurrency figure.
REGISTRIES = [f"{d * 12}.dkr.ecr.{REGIONS[i % 2]}.amazonaws.com"
              for i, d in enumerate("12345678")]
ONE = REGISTRIES[0]
NOT_FOUND = "credentials not found in native keychain"
SPAWN_TIMEOUT = 60.0  # seconds any helper process may live
# A round of the throttling storm: the Go helper's processes each retry on
# their own; past this they are killed, and the row says how many.
THROTTLE_BOUND = 120
# What --only can name, in the order measured.
FIGURES = ["hit", "rules", "cold", "cold-sys", "conc-cold", "conc-warm", "throttle", "nocreds", "size"]


class BenchError(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --- processes ------------------------------------------------------------
# Every helper process is started by the static launcher (spawn.c): it times
# spawn to reaping in C and reports the peak RSS of the helper alone.

SPAWN = None  # the built launcher, set in inner()
SPAWN_DIR = None  # where each batch's stdin and outputs go, set in inner()
_batch = [0]


class Proc:
    def __init__(self, line, out, err):
        self.code = line["code"] if not line["signal"] else -line["signal"]
        self.start, self.end = line["start_ns"], line["end_ns"]
        self.ms = (self.end - self.start) / 1e6
        self.maxrss_kb = line["maxrss_kb"]
        self.cpu_ms = line["cpu_us"] / 1e3
        self.minflt = line.get("minflt", 0)
        self.out, self.err = out, err


def run_all(specs, timeout=SPAWN_TIMEOUT):
    """Starts every (argv, env, stdin) at once (same argv and env for all),
    reaps them all; returns the processes and the wall time in ms from the
    first spawn to the last exit."""
    argv, env = specs[0][0], specs[0][1]
    if any(a != argv or e != env for a, e, _ in specs):
        raise BenchError("run_all: one command and environment per batch")
    _batch[0] += 1
    d = os.path.join(SPAWN_DIR, str(_batch[0]))
    os.makedirs(d)
    for i, (_, _, stdin) in enumerate(specs):
        with open(os.path.join(d, f"{i}.in"), "w") as f:
            f.write(stdin)
    r = subprocess.run([SPAWN, d, str(len(specs)), str(int(timeout))] + argv,
                       env=env, capture_output=True, text=True, timeout=timeout + 30)
    if r.returncode != 0:
        raise BenchError(f"launcher failed for {argv}: {r.stderr.strip()}")
    procs = []
    for line in r.stdout.splitlines():
        l = json.loads(line)
        read = lambda ext: open(os.path.join(d, f"{l['i']}.{ext}"), errors="replace").read()
        procs.append(Proc(l, read("out"), read("err")))
    shutil.rmtree(d)
    wall = (max(p.end for p in procs) - min(p.start for p in procs)) / 1e6
    return procs, wall


def run_one(argv, env, stdin, timeout=SPAWN_TIMEOUT):
    procs, _ = run_all([(argv, env, stdin)], timeout)
    return procs[0]


# --- the namespace ----------------------------------------------------------

def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def setup_namespace(work):
    links = sh("ip", "-o", "link").strip().splitlines()
    names = [l.split(":")[1].strip().split("@")[0] for l in links]
    if names != ["lo"]:
        raise BenchError(f"not in a fresh network namespace (links: {names}); run benches/run.sh")
    sh("ip", "link", "set", "lo", "up")
    # Instance metadata: a link where nothing answers. 169.254.169.254 gets
    # a fixed neighbour entry so connects hang (no ARP failure, no refusal).
    sh("ip", "link", "add", "imds0", "type", "veth", "peer", "name", "imds1")
    sh("ip", "addr", "add", "169.254.0.1/16", "dev", "imds0")
    sh("ip", "link", "set", "imds0", "up")
    sh("ip", "link", "set", "imds1", "up")
    sh("ip", "neigh", "replace", "169.254.169.254", "lladdr", "02:00:00:00:00:01",
       "dev", "imds0", "nud", "permanent")
    hosts = os.path.join(work, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n::1 localhost\n")
        f.write("127.0.0.1 " + " ".join(f"api.ecr.{r}.amazonaws.com" for r in REGIONS) + "\n")
    sh("mount", "--bind", hosts, "/etc/hosts")


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def add_ca_to_system_bundle(work, ca):
    """In the namespace only: the system bundle plus the test CA, bound over
    the system bundle, so that a helper with no AWS_CA_BUNDLE trusts the
    fake by loading the system store, as on a real host."""
    if not os.path.isfile(SYSTEM_BUNDLE):
        return False
    bundle = os.path.join(work, "system-bundle.pem")
    with open(bundle, "w") as out, open(SYSTEM_BUNDLE) as system, open(ca) as test:
        out.write(system.read().rstrip("\n") + "\n" + test.read())
    sh("mount", "--bind", bundle, SYSTEM_BUNDLE)
    return True


def make_certs(work):
    ca_key, ca = os.path.join(work, "ca.key"), os.path.join(work, "ca.pem")
    key, csr, crt = (os.path.join(work, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(work, "server.ext")
    sans = ",".join(f"DNS:api.ecr.{r}.amazonaws.com" for r in REGIONS)
    with open(ext, "w") as f:
        f.write(f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    # RSA 2048, like the certificates the real ECR API serves.
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
       "-out", ca, "-days", "2", "-subj", "/CN=ecr-login bench CA",
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
       "-subj", f"/CN=api.ecr.{REGIONS[0]}.amazonaws.com")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
       "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca, crt, key


class Fake:
    """The fake ECR API (benches/fake-ecr, built by run.sh): one log line per request."""

    def __init__(self, binary, work, cert, key):
        self.log = os.path.join(work, "fake_ecr.jsonl")
        open(self.log, "w").close()
        ready = os.path.join(work, "fake.ready")
        # While this file exists the fake throttles every call.
        self.throttle_file = os.path.join(work, "fake.throttle")
        self.proc = subprocess.Popen(
            [binary, "--cert", cert, "--key", key, "--log", self.log, "--ready", ready,
             "--throttle-file", self.throttle_file],
            stderr=open(os.path.join(work, "fake_ecr.stderr"), "w"))
        deadline = time.time() + 10
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise BenchError("the fake ECR did not start (see fake_ecr.stderr)")
            time.sleep(0.02)

    def calls(self):
        with open(self.log) as f:
            return sum(1 for _ in f)

    def throttle(self, on):
        if on:
            open(self.throttle_file, "w").close()
        elif os.path.exists(self.throttle_file):
            os.remove(self.throttle_file)

    def requests(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# --- helpers under test ---------------------------------------------------------

class Helper:
    def __init__(self, name, path, kind):
        self.name, self.path, self.kind = name, path, kind

    def argv(self, action="get"):
        return [self.path, action]


class Env:
    """The environments the helpers run in: static keys, HOME in a temp dir,
    the test CA, and a cache directory of our choosing."""

    def __init__(self, work, ca):
        self.work, self.ca = work, ca
        self.n = 0

    def fresh_dir(self, tag):
        self.n += 1
        return os.path.join(self.work, "dirs", f"{tag}-{self.n}")

    def make(self, home, cache_dir, credentials=True, metadata=False, ca_bundle=True):
        os.makedirs(home, exist_ok=True)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "AWS_ECR_CACHE_DIR": cache_dir,
        }
        if ca_bundle:
            env["AWS_CA_BUNDLE"] = self.ca
        if credentials:
            env["AWS_ACCESS_KEY_ID"] = "AKIABENCHMARK0000000"
            env["AWS_SECRET_ACCESS_KEY"] = "bench/secret/key/not/real/0000000000000"
        if not metadata:
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        return env


def check_get(p, helper, registry):
    if p.code != 0 or '"Secret"' not in p.out or registry not in p.out:
        raise BenchError(f"{helper.name} get {registry}: exit {p.code}, "
                         f"stdout {p.out[:200]!r}, stderr {p.err[:400]!r}")


def check_not_found(p, helper):
    if p.code == 0 or NOT_FOUND not in p.out:
        raise BenchError(f"{helper.name} without credentials: exit {p.code}, "
                         f"stdout {p.out[:200]!r}, stderr {p.err[:400]!r}")


def rotations(items, rounds):
    """Round r runs the items starting at r mod len: A B C, B C A, C A B..."""
    n = len(items)
    for r in range(rounds):
        yield r, [items[(r + i) % n] for i in range(n)]


# --- statistics ---------------------------------------------------------------

class Series:
    def __init__(self):
        self.values = []

    def add(self, v):
        self.values.append(v)

    @property
    def median(self):
        return statistics.median(self.values)

    def fmt(self, unit, digits=1, scale=1.0):
        if not self.values:
            return "n/a"
        m = self.median * scale
        lo, hi = min(self.values) * scale, max(self.values) * scale
        return f"**{m:.{digits}f} {unit}** ({lo:.{digits}f}–{hi:.{digits}f}, n={len(self.values)})"


def ratio(a, b):
    return a.median / b.median if a.values and b.values and b.median else float("nan")


# --- the measurements ---------------------------------------------------------------

class Bench:
    def __init__(self, args, work, fake, env, helpers):
        self.args, self.work, self.fake, self.env = args, work, fake, env
        self.ours, self.go, self.floor = helpers
        self.helpers = helpers
        self.results = {}
        self.homes = {h.name: os.path.join(work, "home", h.name) for h in helpers}
        self.caches = {h.name: os.path.join(work, "cache", h.name) for h in helpers}

    def warm_env(self, h):
        return self.env.make(self.homes[h.name], self.caches[h.name])

    def warm_up(self):
        """One cold get per registry and helper fills the warm caches."""
        for h in (self.ours, self.go):
            for reg in REGISTRIES:
                before = self.fake.calls()
                p = run_one(h.argv(), self.warm_env(h), reg + "\n")
                check_get(p, h, reg)
                if self.fake.calls() != before + 1:
                    raise BenchError(f"{h.name}: a cold get made {self.fake.calls() - before} API calls, not 1")

    def hit_latency(self, rounds, tag="hit"):
        s = {h.name: Series() for h in self.helpers}
        rss = {h.name: Series() for h in self.helpers}
        before = self.fake.calls()
        for r, order in rotations(self.helpers, rounds + self.args.warmup):
            for h in order:
                p = run_one(h.argv(), self.warm_env(h), ONE + "\n")
                check_get(p, h, "111111111111" if h is not self.floor else "")
                if r >= self.args.warmup:
                    s[h.name].add(p.ms)
                    rss[h.name].add(p.maxrss_kb)
        if self.fake.calls() != before:
            raise BenchError(f"warm-cache gets made {self.fake.calls() - before} API calls: not cache hits")
        self.results[tag] = s
        self.results[tag + "_rss"] = rss

    def rules_hit(self, rounds, n_rules=1000):
        """Ours only: a hit with a per-registry rules file of n_rules rules
        (none of which matches), interleaved with a plain hit. The file is
        part of the cache key by its version, so a hit need not read it."""
        path = os.path.join(self.work, f"rules-{n_rules}.toml")
        with open(path, "w") as f:
            for i in range(n_rules):
                account = 900000000000 + i
                if i % 2:
                    f.write(f'[[registry]]\naccount = "{account}"\nprofile = "p{i}"\n\n')
                else:
                    f.write(f'[[registry]]\nhost = "{account}.dkr.ecr.eu-west-1.amazonaws.com"\n'
                            f'role_arn = "arn:aws:iam::{account}:role/pull"\n\n')
        plain = self.warm_env(self.ours)
        with_rules = self.env.make(self.homes[self.ours.name], os.path.join(self.work, "cache", "rules"))
        with_rules["AWS_ECR_CONFIG_FILE"] = path
        check_get(run_one(self.ours.argv(), with_rules, ONE + "\n"), self.ours, "111111111111")
        before = self.fake.calls()
        s = {"plain": Series(), "rules": Series()}
        for r in range(rounds + self.args.warmup):
            for name, env in (("plain", plain), ("rules", with_rules))[:: 1 if r % 2 else -1]:
                p = run_one(self.ours.argv(), env, ONE + "\n")
                check_get(p, self.ours, "111111111111")
                if r >= self.args.warmup:
                    s[name].add(p.ms)
        if self.fake.calls() != before:
            raise BenchError(f"hits with a rules file made {self.fake.calls() - before} API calls")
        self.results["rules_hit"] = s
        self.results["rules_hit_n"] = n_rules

    def cold_latency(self, rounds, system_roots=False):
        """A fresh cache directory per run. With system_roots, no
        AWS_CA_BUNDLE: each helper loads the system trust store (to which
        the namespace's copy of the bundle adds the test CA)."""
        tag = "cold_sys" if system_roots else "cold"
        who = self.helpers
        s = {h.name: Series() for h in who}
        rss = {h.name: Series() for h in who}
        cpu = {h.name: Series() for h in who}
        for r, order in rotations(who, rounds + self.args.warmup):
            for h in order:
                env = self.env.make(self.homes[h.name], self.env.fresh_dir("cold-" + h.name),
                                    ca_bundle=not system_roots)
                before = self.fake.calls()
                p = run_one(h.argv(), env, ONE + "\n")
                check_get(p, h, "111111111111" if h is not self.floor else "")
                want = 0 if h is self.floor else 1
                if self.fake.calls() != before + want:
                    raise BenchError(f"{h.name}: cold get made {self.fake.calls() - before} API calls, not {want}")
                if r >= self.args.warmup:
                    s[h.name].add(p.ms)
                    rss[h.name].add(p.maxrss_kb)
                    cpu[h.name].add(p.cpu_ms)
        self.results[tag] = s
        self.results[tag + "_rss"] = rss
        self.results[tag + "_cpu"] = cpu

    def concurrent_cold(self, rounds, n=16):
        calls = {h.name: Series() for h in (self.ours, self.go)}
        wall = {h.name: Series() for h in (self.ours, self.go)}
        for _, order in rotations([self.ours, self.go], rounds):
            for h in order:
                cache = self.env.fresh_dir("conc-" + h.name)
                env = self.env.make(self.homes[h.name], cache)
                before = self.fake.calls()
                procs, w = run_all([(h.argv(), env, ONE + "\n")] * n)
                for p in procs:
                    check_get(p, h, "111111111111")
                calls[h.name].add(self.fake.calls() - before)
                wall[h.name].add(w)
        self.results["conc_cold_calls"] = calls
        self.results["conc_cold_wall"] = wall

    def concurrent_warm(self, rounds, n=64):
        s = {h.name: Series() for h in self.helpers}
        before = self.fake.calls()
        for r, order in rotations(self.helpers, rounds + self.args.warmup):
            for h in order:
                env = self.warm_env(h)
                specs = [(h.argv(), env, REGISTRIES[i % len(REGISTRIES)] + "\n") for i in range(n)]
                procs, w = run_all(specs)
                for i, p in enumerate(procs):
                    check_get(p, h, "" if h is self.floor else REGISTRIES[i % len(REGISTRIES)])
                if r >= self.args.warmup:
                    s[h.name].add(w)
        if self.fake.calls() != before:
            raise BenchError(f"warm concurrent gets made {self.fake.calls() - before} API calls: not cache hits")
        self.results["conc_warm"] = s

    def throttling_storm(self, rounds, n=100, bound=THROTTLE_BOUND):
        """n concurrent cold gets, one registry, a fresh cache directory per
        round, the fake answering every call with 400 ThrottlingException:
        the API calls the round made, and its slowest answer. Each round is
        bounded: a process still running after `bound` seconds is killed
        (SIGKILL) and counted as such."""
        calls = {h.name: Series() for h in (self.ours, self.go)}
        slowest = {h.name: Series() for h in (self.ours, self.go)}
        outcomes = {h.name: {} for h in (self.ours, self.go)}
        for _, order in rotations([self.ours, self.go], rounds):
            for h in order:
                env = self.env.make(self.homes[h.name], self.env.fresh_dir("throttle-" + h.name))
                before = self.fake.calls()
                self.fake.throttle(True)
                try:
                    procs, _ = run_all([(h.argv(), env, ONE + "\n")] * n, timeout=bound)
                finally:
                    self.fake.throttle(False)
                for p in procs:
                    what = ("killed at the bound" if p.code == -9 else
                            "not found" if p.code != 0 and NOT_FOUND in p.out else
                            f"exit {p.code}, stdout {p.out.strip()[:60]!r}")
                    outcomes[h.name][what] = outcomes[h.name].get(what, 0) + 1
                if h is self.ours and any(p.code != 1 or NOT_FOUND not in p.out for p in procs):
                    bad = next(p for p in procs if p.code != 1 or NOT_FOUND not in p.out)
                    raise BenchError(f"ours against a throttling API: exit {bad.code}, "
                                     f"stdout {bad.out[:200]!r}, stderr {bad.err[-400:]!r}")
                calls[h.name].add(self.fake.calls() - before)
                slowest[h.name].add(max(p.ms for p in procs))
        self.results["throttle_calls"] = calls
        self.results["throttle_slowest"] = slowest
        self.results["throttle_outcomes"] = outcomes
        self.results["throttle_n"] = n
        self.results["throttle_bound"] = bound

    def no_credentials(self, rounds):
        s = {h.name: Series() for h in (self.ours, self.go)}
        for _, order in rotations([self.ours, self.go], rounds):
            for h in order:
                home = self.env.fresh_dir("nocreds-home-" + h.name)
                env = self.env.make(home, os.path.join(home, "cache"),
                                    credentials=False, metadata=True)
                # Without credentials neither helper may reach the API:
                # any line in the fake's log, a request or a handshake
                # begun and dropped, fails the run.
                before = self.fake.calls()
                p = run_one(h.argv(), env, ONE + "\n")
                check_not_found(p, h)
                if self.fake.calls() != before:
                    raise BenchError(f"{h.name} connected to the API without credentials")
                s[h.name].add(p.ms)
        self.results["nocreds"] = s

    def sizes(self):
        out = {}
        for h in self.helpers:
            tmp = os.path.join(self.work, f"stripped-{h.name}")
            shutil.copy(h.path, tmp)
            stripped = subprocess.run(["strip", tmp], capture_output=True).returncode == 0
            out[h.name] = (os.path.getsize(h.path), os.path.getsize(tmp) if stripped else None)
        self.results["size"] = out


# --- the report ----------------------------------------------------------------------

def mb(kb_series):
    return kb_series.fmt("MB", 1, 1 / 1024)


def table(b, build_time):
    R = b.results
    o, g, f = b.ours.name, b.go.name, b.floor.name
    rows = []

    def verdict(ok):
        return "–" if ok is None else "yes" if ok else "**NO**"

    def row(label, cells, rel, target, ok=None):
        """A figure; with a target, `ok` says whether ours met it. A row
        without one (target "report", ok None) shows "–"."""
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {rel} | {target} | {verdict(ok)} |")

    if "hit" in R:
        h = R["hit"]
        rf, rg = ratio(h[o], h[f]), ratio(h[o], h[g])
        row("cache-hit `get` latency (warm cache)", [h[o].fmt("ms", 2), h[g].fmt("ms", 2), h[f].fmt("ms", 2)],
            f"{rg:.2f}× Go, {rf:.2f}× floor", "≤ 0.5× Go", rg <= 0.5)
    if "rules_hit" in R:
        r = R["rules_hit"]
        added = r["rules"].median - r["plain"].median
        row(f"cache-hit `get` latency with a {R['rules_hit_n']:,}-rule per-registry file (`AWS_ECR_CONFIG_FILE`), ours: with the file / without",
            [f"{r['rules'].fmt('ms', 2)} / {r['plain'].fmt('ms', 2)}", "–", "–"],
            f"+{added:.2f} ms", "≤ +1 ms", added <= 1.0)
    if "cold" in R:
        c = R["cold"]
        row("cold `get` latency (fresh cache dir per run, TLS fake ECR)",
            [c[o].fmt("ms", 1), c[g].fmt("ms", 1), c[f].fmt("ms", 2)],
            f"{ratio(c[o], c[g]):.2f}× Go, {ratio(c[o], c[f]):.2f}× floor", "report")
    if "cold_cpu" in R:
        # The wall time above includes the fake's own service time (mostly
        # its TLS signing), which every client waits for alike; the CPU the
        # helper itself spends is its own cost, and the cold target.
        c = R["cold_cpu"]
        rg = ratio(c[o], c[g])
        row("cold `get` CPU time, user + system, all threads (wait4): the helper's own work, without the fake's",
            [c[o].fmt("ms", 2), c[g].fmt("ms", 2), c[f].fmt("ms", 2)],
            f"{rg:.2f}× Go", "≤ 0.5× Go", rg <= 0.5)
    if "cold_sys" in R:
        c = R["cold_sys"]
        n = count_certs(SYSTEM_BUNDLE)
        row(f"cold `get` latency, system trust store ({n} roots, no AWS_CA_BUNDLE)",
            [c[o].fmt("ms", 1), c[g].fmt("ms", 1), c[f].fmt("ms", 2)],
            f"{ratio(c[o], c[g]):.2f}× Go, {ratio(c[o], c[f]):.2f}× floor", "report")
    if "hit_rss" in R:
        h = R["hit_rss"]
        row("peak RSS, cache hit (wait4 ru_maxrss)", [mb(h[o]), mb(h[g]), mb(h[f])],
            f"{ratio(h[o], h[g]):.2f}× Go", "≤ 5 MB", h[o].median <= 5 * 1024)
    if "cold_rss" in R:
        c = R["cold_rss"]
        row("peak RSS, cache miss (wait4 ru_maxrss)", [mb(c[o]), mb(c[g]), mb(c[f])],
            f"{ratio(c[o], c[g]):.2f}× Go", "report")
    if "cold_sys_rss" in R:
        c = R["cold_sys_rss"]
        row("peak RSS, cache miss, system trust store", [mb(c[o]), mb(c[g]), mb(c[f])],
            f"{ratio(c[o], c[g]):.2f}× Go", "report")
    if "conc_cold_calls" in R:
        c, w = R["conc_cold_calls"], R["conc_cold_wall"]
        row("16 concurrent cold `get`s, one registry: API calls counted by the fake",
            [c[o].fmt("calls", 0), c[g].fmt("calls", 0), "–"],
            f"wall {w[o].median:.0f} ms vs {w[g].median:.0f} ms", "1 call",
            max(c[o].values) == 1)
    if "conc_warm" in R:
        c = R["conc_warm"]
        rg = ratio(c[o], c[g])
        row("64 concurrent `get`s over 8 registries, warm: wall time for all",
            [c[o].fmt("ms", 1), c[g].fmt("ms", 1), c[f].fmt("ms", 1)],
            f"{rg:.2f}× Go, {ratio(c[o], c[f]):.2f}× floor", "≤ 0.5× Go", rg <= 0.5)
    if "throttle_calls" in R:
        c, s = R["throttle_calls"], R["throttle_slowest"]
        worst_calls, worst_s = max(c[o].values), max(s[o].values) / 1e3
        outcomes = "; ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(R["throttle_outcomes"][name].items()))
                             for name in (o, g))
        row(f"{R['throttle_n']} concurrent cold `get`s vs a throttling API (every call 400 `ThrottlingException`): "
            f"API calls, slowest answer (each round bounded at {R['throttle_bound']} s)",
            [f"{c[o].fmt('calls', 0)}, {s[o].fmt('s', 2, 1e-3)}", f"{c[g].fmt('calls', 0)}, {s[g].fmt('s', 2, 1e-3)}", "–"],
            outcomes, "≤ 10 calls, each ≤ 15 s", worst_calls <= 10 and worst_s <= 15)
    if "nocreds" in R:
        c = R["nocreds"]
        row("no credentials, IMDS unreachable (connects hang): time to not-found",
            [c[o].fmt("s", 2, 1e-3), c[g].fmt("s", 2, 1e-3), "–"],
            f"{ratio(c[o], c[g]):.2f}× Go", "≤ 2 s", c[o].median <= 2000)
    if "size" in R:
        s = R["size"]
        (osz, ostr), (gsz, gstr) = s[o], s[g]
        shown = lambda raw, st: f"{(st or raw) / 1e6:.2f} MB" + ("" if st is None or st == raw else f" (as installed {raw / 1e6:.2f})")
        row("binary size, stripped", [shown(osz, ostr), shown(gsz, gstr), shown(*s[f])],
            f"{(ostr or osz) / (gstr or gsz):.2f}× Go", "≤ 8 MB", (ostr or osz) <= 8e6)
    if build_time:
        rows.append(f"| clean release build time (`cargo build --release --locked`, own CARGO_TARGET_DIR) | {build_time} | – | – | – | report | – |")
    head = ("| figure | ours | Go helper | floor | relative | target | met |\n"
            "|---|---|---|---|---|---|---|")
    return head + "\n" + "\n".join(rows)


def variants_table(b, variants, rounds, build_times=None):
    """Hit and miss latency and size for each build profile, interleaved."""
    hs = {v.name: Series() for v in variants}
    cs = {v.name: Series() for v in variants}
    hr = {v.name: Series() for v in variants}
    cc = {v.name: Series() for v in variants}
    cf = {v.name: Series() for v in variants}
    warm = {v.name: os.path.join(b.work, "cache", f"variant-{i}") for i, v in enumerate(variants)}
    for v in variants:
        p = run_one(v.argv(), b.env.make(b.homes[b.ours.name], warm[v.name]), ONE + "\n")
        check_get(p, v, "111111111111")
    for r, order in rotations(variants, rounds + b.args.warmup):
        for v in order:
            env = b.env.make(b.homes[b.ours.name], warm[v.name])
            p = run_one(v.argv(), env, ONE + "\n")
            check_get(p, v, "111111111111")
            if r >= b.args.warmup:
                hs[v.name].add(p.ms)
                hr[v.name].add(p.maxrss_kb)
        for v in order:
            env = b.env.make(b.homes[b.ours.name], b.env.fresh_dir("variant-cold"))
            p = run_one(v.argv(), env, ONE + "\n")
            check_get(p, v, "111111111111")
            if r >= b.args.warmup:
                cs[v.name].add(p.ms)
                cc[v.name].add(p.cpu_ms)
                cf[v.name].add(p.minflt)
    lines = ["| build | size (stripped) | hit latency | miss latency | miss CPU (user + system) | miss minor faults | hit peak RSS | build time |",
             "|---|---|---|---|---|---|---|---|"]
    for v in variants:
        bt = (build_times or {}).get(v.name, "–")
        lines.append(f"| {v.name} | {os.path.getsize(v.path) / 1e6:.2f} MB | {hs[v.name].fmt('ms', 2)} | "
                     f"{cs[v.name].fmt('ms', 2)} | {cc[v.name].fmt('ms', 2)} | "
                     f"{cf[v.name].fmt('', 0)} | {mb(hr[v.name])} | {bt} |")
    return "\n".join(lines)


def count_certs(path):
    try:
        with open(path) as f:
            return f.read().count("BEGIN CERTIFICATE")
    except OSError:
        return "?"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs (nproc), {model}, kernel {platform.release()}"


def load_note():
    with open("/proc/loadavg") as f:
        la = " ".join(f.read().split()[:3])
    rustc = subprocess.run(["pgrep", "-c", "-x", "rustc"], capture_output=True, text=True).stdout.strip() or "0"
    return f"load average {la}; rustc processes running: {rustc}"


# --- profiling --------------------------------------------------------------------------

def callgrind_by_object(path):
    """Exclusive instruction counts per ELF object, from a callgrind file."""
    names, costs = {}, {}
    ob, skip = "?", False
    with open(path) as f:
        for line in f:
            if skip:  # the inclusive cost of a call: counted in the callee
                skip = False
                continue
            if line.startswith(("ob=", "cob=")):
                key, _, val = line.strip().partition("=")
                m = re.match(r"\((\d+)\)(?: (.*))?", val)
                if m and m.group(2):
                    names[m.group(1)] = os.path.basename(m.group(2))
                if key == "ob":
                    ob = names.get(m.group(1), "?") if m else os.path.basename(val)
            elif line.startswith("calls="):
                skip = True
            elif line[:1] in "0123456789+-*":
                parts = line.split()
                if len(parts) >= 2 and parts[-1].isdigit():
                    costs[ob] = costs.get(ob, 0) + int(parts[-1])
    return costs


def profile(b, out_dir, symbols_bin=None):
    """strace of ours and Go, callgrind of ours, on a hit, a miss, and a miss
    that loads the system trust store. Raw output goes to out_dir."""
    have = lambda t: shutil.which(t) is not None
    cases = [("hit", lambda h: b.warm_env(h)),
             ("miss", lambda h: b.env.make(b.homes[h.name], b.env.fresh_dir("prof-" + h.name))),
             ("miss, system roots", lambda h: b.env.make(b.homes[h.name], b.env.fresh_dir("prof-" + h.name),
                                                         ca_bundle=False))]
    if not b.args.system_roots:
        cases = cases[:2]
    notes = []
    if have("strace"):
        rows = ["| helper | path | syscalls | files opened (distinct) | CA files read | threads started | connects | fsync |",
                "|---|---|---|---|---|---|---|---|"]
        opened_by_ours = {}
        for h in (b.ours, b.go):
            for kind, mkenv in cases:
                base = os.path.join(out_dir, f"strace-{h.name}-{kind.replace(', ', '-').replace(' ', '-')}")
                p = run_one(["/usr/bin/strace", "-f", "-qq", "-o", base + ".trace", h.path, "get"],
                            mkenv(h), ONE + "\n")
                check_get(p, h, "111111111111")
                with open(base + ".trace") as f:
                    trace = f.read()
                calls = [l for l in trace.splitlines() if re.match(r"\d+\s+\w+\(", l)]
                opens = re.findall(r'\bopen(?:at)?\([^"]*"([^"]+)"', trace)
                ca_reads = sum(1 for o in opens if o.endswith((".pem", ".crt")) or "/certs" in o)
                threads = len(re.findall(r"\bclone3?\(", trace))
                connects = len(re.findall(r"\bconnect\(\d+, \{sa_family=AF_INET", trace))
                fsyncs = len(re.findall(r"\b(?:fsync|fdatasync)\(", trace))
                rows.append(f"| {h.name} | {kind} | {len(calls)} | {len(opens)} ({len(set(opens))}) | "
                            f"{ca_reads} | {threads} | {connects} | {fsyncs} |")
                if h is b.ours:
                    opened_by_ours[kind] = opens
        notes.append("### System calls (`strace -f`)\n\n" + "\n".join(rows))
        for kind, opens in opened_by_ours.items():
            shown = "\n".join(f"    {o.replace(b.work, '$WORK')}" for o in opens)
            notes.append(f"Files opened by ours, {kind}:\n\n{shown}")
    if have("valgrind"):
        target = symbols_bin or b.ours.path
        rows = ["| path | instructions | ld.so | libc | the binary | other |", "|---|---|---|---|---|---|"]
        for kind, mkenv in cases:
            outf = os.path.join(out_dir, f"callgrind-ours-{kind.replace(', ', '-').replace(' ', '-')}.out")
            env = mkenv(b.ours)
            env["AWS_ECR_TIMEOUT"] = "120"  # valgrind is ~50x slower: no timeout must cut the path short
            p = run_one(["/usr/bin/valgrind", "--tool=callgrind", f"--callgrind-out-file={outf}", target, "get"],
                        env, ONE + "\n", timeout=600)
            check_get(p, b.ours, "111111111111")
            m = re.search(r"Collected : (\d+)", p.err)
            total = int(m.group(1)) if m else 0
            by_obj = callgrind_by_object(outf)
            if have("callgrind_annotate"):
                incl = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", outf],
                                      capture_output=True, text=True).stdout
                with open(outf + ".txt", "w") as f:
                    f.write(incl)
            ld = sum(v for k, v in by_obj.items() if k.startswith("ld-linux"))
            libc = sum(v for k, v in by_obj.items() if k.startswith(("libc.so", "libm.so", "libgcc_s", "libnss", "libresolv")))
            own = sum(v for k, v in by_obj.items() if k == os.path.basename(target))
            pct = lambda v: f"{v:,} ({100 * v / total:.0f}%)" if total else "?"
            rows.append(f"| {kind} | {total:,} | {pct(ld)} | {pct(libc)} | {pct(own)} | {pct(total - ld - libc - own)} |")
        notes.append("### Instructions (`valgrind --tool=callgrind`, ours"
                     + (f", symbols build `{target}`" if symbols_bin else "") + ")\n\n" + "\n".join(rows))
        notes.append("Annotated inclusive costs: `results/profile/callgrind-ours-*.out.txt`.")
    return "\n\n".join(notes)


# --- main ------------------------------------------------------------------------------------

def inner(args):
    global SPAWN, SPAWN_DIR
    work = args.work
    os.makedirs(work, exist_ok=True)
    SPAWN, SPAWN_DIR = os.path.abspath(args.spawn), os.path.join(work, "spawn")
    setup_namespace(work)
    ca, cert, key = make_certs(work)
    args.system_roots = add_ca_to_system_bundle(work, ca)
    fake = Fake(os.path.abspath(args.fake), work, cert, key)
    try:
        return measure(args, work, fake, ca)
    finally:
        fake.stop()


def evict_from_page_cache(path):
    """Drops a binary's pages from the page cache, so that every binary
    measured is read back the same way, by the first (warm-up) run, as after
    a reboot. How the pages got there otherwise differs: a file the linker
    just wrote and one `cp` just wrote are mapped with different folio sizes,
    which moves a ~1 ms start by ~10% (measured here: the same binary, in
    place and copied, 0.95 vs 0.86 ms)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages would stay
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def measure(args, work, fake, ca):
    env = Env(work, ca)
    for path in [args.ours, args.go, args.floor] + [v.rsplit("=", 1)[1] for v in args.variants or []]:
        evict_from_page_cache(path)
    ours = Helper("ours", os.path.abspath(args.ours), "rust")
    go = Helper("Go", args.go, "go")
    floor = Helper("floor", os.path.abspath(args.floor), "floor")
    for h in (ours, go, floor):
        if not os.access(h.path, os.X_OK):
            raise BenchError(f"{h.name}: {h.path} is not an executable")
    b = Bench(args, work, fake, env, [ours, go, floor])
    rounds, conc_rounds, nocred_rounds = args.runs, args.conc_runs, args.nocreds_runs
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = load_note()
    t0 = time.time()
    only = set(args.only.split(",")) if args.only else set(FIGURES)
    unknown = only - set(FIGURES)
    if unknown:
        raise BenchError(f"--only: unknown figure(s) {', '.join(sorted(unknown))}; known: {', '.join(FIGURES)}")
    want = only.__contains__
    if only & {"hit", "rules", "conc-warm"}:
        log("warming caches")
        b.warm_up()
    if want("hit"):
        log(f"cache-hit latency, {rounds} rounds")
        b.hit_latency(rounds)
    if want("rules"):
        log(f"cache-hit latency with a 1,000-rule per-registry file, {rounds} rounds")
        b.rules_hit(rounds)
    if want("cold"):
        log(f"cold latency, {rounds} rounds")
        b.cold_latency(rounds)
    if want("cold-sys") and args.system_roots:
        log(f"cold latency with the system trust store, {rounds} rounds")
        b.cold_latency(rounds, system_roots=True)
    if want("conc-cold"):
        log(f"16 concurrent cold gets, {conc_rounds} rounds")
        b.concurrent_cold(conc_rounds)
    if want("conc-warm"):
        log(f"64 concurrent warm gets, {conc_rounds} rounds")
        b.concurrent_warm(conc_rounds)
    if want("throttle") and args.throttle_runs:
        log(f"100 concurrent cold gets against a throttling API, {args.throttle_runs} rounds "
            f"(each bounded at {THROTTLE_BOUND} s)")
        b.throttling_storm(args.throttle_runs)
    if want("nocreds") and nocred_rounds:
        log(f"no credentials, {nocred_rounds} rounds (the Go helper takes 13–18 s each here)")
        b.no_credentials(nocred_rounds)
    if want("size"):
        b.sizes()
    elapsed = time.time() - t0
    load_end = load_note()

    requests = fake.requests()
    by_agent, handshakes = {}, {}
    for r in requests:
        agent = "Go" if "aws-sdk-go" in r.get("user_agent", "") else "ours"
        by_agent.setdefault(agent, r)
        if r.get("handshake_ms") is not None:
            handshakes.setdefault(agent, Series()).add(r["handshake_ms"])
    build_time = None
    # A partial run (--only) reports what it measured, not an earlier build.
    if args.build_time_file and os.path.exists(args.build_time_file) and not args.only:
        with open(args.build_time_file) as f:
            build_time = f.read().strip()
    md = [f"## Benchmark: ours vs the Go helper vs the floor\n",
          table(b, build_time), ""]
    md.append("Each cell: **median** (min–max, n = runs). Latencies are from spawn to reaping "
              "(posix_spawn → wait4) of one process, request on a pipe; the three are interleaved "
              "in rotating order every round. Met: – for a figure reported without a target.\n")
    if args.variants:
        variants = []
        for spec in args.variants:
            name, path = spec.rsplit("=", 1)
            variants.append(Helper(name, os.path.abspath(path), "rust"))
        log(f"build profiles: {', '.join(v.name for v in variants)}, {args.variant_runs or rounds} rounds")
        build_times = {}
        if args.opt_build_times and os.path.exists(args.opt_build_times):
            with open(args.opt_build_times) as f:
                for line in f:
                    name, _, rest = line.partition(": ")
                    build_times[name.strip()] = rest.strip()
        heading = ("Build profiles (LTO, one codegen unit, panic=abort, strip; only opt-level differs)"
                   if not os.environ.get("BENCH_EXTRA_VARIANTS") else
                   "Builds compared (`--opt-levels` and `BENCH_EXTRA_VARIANTS`)")
        md += [f"### {heading}\n",
               variants_table(b, variants, args.variant_runs or rounds, build_times), "",
               f"Builds of the {args.opt_snapshot or 'same sources'}; hit and miss interleaved like the table above. "
               "Build time is this run's (a clean build only where the target dir was new).", ""]
    md += ["### Conditions\n",
           f"- machine: {machine()}",
           f"- ours: `{ours.path}` ({first_line(run_one(ours.argv('version'), env.make(b.homes['ours'], b.caches['ours']), ''))}); "
           f"Go: `{go.path}` ({args.go_version}); floor: `benches/floor.c`, gcc -O2",
           f"- started {started:%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s of measurement; "
           f"{rounds} rounds for latencies, {conc_rounds} for concurrency, {nocred_rounds} without credentials, "
           f"{args.throttle_runs} of the throttling storm "
           f"(+{args.warmup} warm-up rounds, not counted)"
           + (f"; only: {args.only}" if args.only else ""),
           f"- at start: {load_start}; at end: {load_end}",
           f"- requests seen by the fake: {len(requests)}; what each helper sends: "
           + "; ".join(f"{k}: `{v['target']}` registryIds={v['registryIds']} ({v['user_agent'][:60]})"
                       for k, v in sorted(by_agent.items())),
           "- TLS handshake as the fake saw it, every phase (the concurrent ones too; accept to handshake "
           "done: its RSA-2048 signing, ~1.1 ms here, plus the client's work between flights): "
           + "; ".join(f"{k} {v.fmt('ms', 1)}" for k, v in sorted(handshakes.items())),
           f"- command: `{args.command}`", ""]
    text = "\n".join(md)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.profile:
        log("profiling (strace, callgrind)")
        prof_dir = os.path.join(args.results_dir, "profile")
        os.makedirs(prof_dir, exist_ok=True)
        text = "\n".join(["## Profiles of the hit and miss paths\n",
                          profile(b, prof_dir, args.profile_bin), "",
                          f"- machine: {machine()}", f"- command: `{args.command}`", ""])
        print(text)
        if args.profile_out:
            with open(args.profile_out, "w") as f:
                f.write(text)
    return 0


def first_line(p):
    return (p.out or p.err).strip().splitlines()[0] if (p.out or p.err).strip() else "?"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inner", help="run inside the namespace (benches/run.sh does this)")
    i.add_argument("--work", required=True)
    i.add_argument("--ours", required=True)
    i.add_argument("--go", default="/usr/bin/docker-credential-ecr-login")
    i.add_argument("--go-version", default="?")
    i.add_argument("--floor", required=True)
    i.add_argument("--spawn", required=True, help="the launcher built from spawn.c")
    i.add_argument("--fake", required=True, help="the fake ECR API built from benches/fake-ecr")
    i.add_argument("--runs", type=int, default=40)
    i.add_argument("--conc-runs", type=int, default=30)
    i.add_argument("--nocreds-runs", type=int, default=30)
    i.add_argument("--throttle-runs", type=int, default=3)
    i.add_argument("--only", help="measure only these figures, comma-separated: " + ", ".join(FIGURES))
    i.add_argument("--warmup", type=int, default=3)
    i.add_argument("--variants", nargs="*", default=[], metavar="NAME=BINARY")
    i.add_argument("--variant-runs", type=int, help="rounds for the --variants table (default: --runs)")
    i.add_argument("--profile", action="store_true")
    i.add_argument("--profile-bin", help="for callgrind: the same build with symbols")
    i.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    i.add_argument("--build-time-file")
    i.add_argument("--opt-snapshot", default="", help="which sources the --variants builds are of")
    i.add_argument("--opt-build-times", help="a file with the build time of each --variants build")
    i.add_argument("--out")
    i.add_argument("--profile-out")
    i.add_argument("--command", default=" ".join(sys.argv))
    args = p.parse_args()
    try:
        sys.exit(inner(args))
    except (BenchError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or ""
        log(f"FAILED: {e} {detail}".strip())
        sys.exit(2)


if __name__ == "__main__":
    main()
