"""Scale-out rig: one `q2api simulate`, three `q2api serve` sharing one YAML (shard 0..2 of 3),
and nginx in front, configured by examples/nginx/q2api.conf with only its addresses rewritten.

scripts/test runs it (step "scale-out") with

    Q2API_BIN   the q2api binary (copied into the rig's folder, so a concurrent rebuild cannot swap it)
    NGINX_BIN   optional: the nginx binary (default: `nginx` on PATH, else /usr/sbin/nginx)

By hand: `.venv/bin/python -m pytest -q Tests/ScaleOut` (after `apt-get install nginx` and a build).

Every process is started here and stopped at the end, also on failure or Ctrl-C: SIGTERM, then
SIGKILL after 5 s; each child also gets PR_SET_PDEATHSIG, so even a SIGKILLed pytest leaves nothing
behind. Every wait is bounded. On failure the last lines of every log are printed to stderr.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx

for _name in list(os.environ):
    if _name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        del os.environ[_name]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "nginx" / "q2api.conf"

API_KEY = "sk-scale-out"
ADMIN_KEY = "sk-scale-out-admin"  # also an API key; lets a request pin an account with x-q2api-account
CLIENT_SECRET = "sim-secret"
MODEL = "claude-sonnet-4-5"
SHARD_COUNT = 3
HTTP_TIMEOUT = 15.0

# Nine accounts, three per shard: eight placed by the FNV-1a hash of their id, one (juliet, whose hash
# says shard 0) pinned to shard 1 with `accounts[].shard`.
EXPLICIT_SHARDS: dict[str, int | None] = {
    "alpha": None, "golf": None, "india": None,
    "charlie": None, "delta": None, "juliet": 1,
    "bravo": None, "foxtrot": None, "hotel": None,
}  # fmt: skip
EXPECTED_OWNERS = {"alpha": 0, "golf": 0, "india": 0, "charlie": 1, "delta": 1, "juliet": 1, "bravo": 2, "foxtrot": 2, "hotel": 2}


def fnv1a64(text: str) -> int:
    """The shard hash of Sources/ProxyConfig/ProxyConfig+Shard.swift, for a cross-check."""
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def owner(account: str) -> int:
    explicit = EXPLICIT_SHARDS[account]
    return explicit if explicit is not None else fnv1a64(account) % SHARD_COUNT


def owned(index: int) -> set[str]:
    return {a for a in EXPLICIT_SHARDS if owner(a) == index}


def seed_token(account: str) -> str:
    return f"rt-seed-{account}"


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux: no safety net, the finalizers still run
    _libc = None


def _die_with_parent() -> None:
    # Fires when the thread that forked exits: processes are only ever started from pytest's main thread.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _raise_interrupt(signum, frame):  # timeout(1) sends SIGTERM: tear down like on Ctrl-C
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _raise_interrupt)


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclasses.dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


def parse_prometheus(text: str) -> dict[tuple[str, frozenset], float]:
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if not m:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def metric(samples: dict, name: str, **labels: str) -> float:
    """The value of one sample; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


class Cluster:
    """The simulator, three sharded instances and nginx; `state` carries findings from test to test."""

    def __init__(self, workdir: Path, q2api_bin: str, nginx_bin: str):
        self.workdir = workdir
        self.bin = q2api_bin
        self.nginx_bin = nginx_bin
        ports = free_ports(SHARD_COUNT + 2)
        self.sim_port, self.nginx_port, self.instance_ports = ports[0], ports[1], ports[2:]
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.nginx_url = f"http://127.0.0.1:{self.nginx_port}"
        self.config = workdir / "q2api.yaml"
        self.nginx_prefix = workdir / "nginx"
        self.nginx_access_log = self.nginx_prefix / "q2api.access.log"
        self.nginx_error_log = self.nginx_prefix / "error.log"
        self.procs: dict[str, Proc] = {}
        self.state: dict = {}

    # -- addresses ------------------------------------------------------------------------------

    def instance_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.instance_ports[index]}"

    def state_dir(self, index: int) -> Path:
        return self.workdir / f"state-{index}"

    def instance_of_port(self, port: int) -> int:
        return self.instance_ports.index(port)

    def instance_env(self, index: int) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            Q2API_SHARD_INDEX=str(index), Q2API_PORT=str(self.instance_ports[index]), Q2API_STATE_DIR=str(self.state_dir(index))
        )
        return env

    # -- processes ------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as out:  # a restarted instance appends to the same log
            out.write(f"----- {time.strftime('%H:%M:%S')} start: {' '.join(argv)}\n".encode())
            out.flush()
            popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
                preexec_fn=_die_with_parent,
            )
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def wait_for(self, url: str, proc: Proc, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if proc.popen.poll() is not None:
                raise AssertionError(f"{proc.name} exited with {proc.popen.returncode} before {url} answered:\n{tail(proc.log)}")
            try:
                if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout} s:\n{tail(proc.log)}")
            time.sleep(0.05)

    def start_simulator(self) -> None:
        argv = [self.bin, "simulate", "--port", str(self.sim_port), "--client-secret", CLIENT_SECRET, "--rotate-refresh-tokens"]
        for account in EXPLICIT_SHARDS:
            argv += ["--refresh-token", seed_token(account)]
        proc = self._spawn("simulator", argv)
        self.wait_for(self.sim_url + "/__sim/state", proc)

    def write_config(self) -> None:
        lines = [
            "# One file for every instance; each is told its place by the environment.",
            "version: 1",
            "listeners:",
            "  - address: 127.0.0.1:${Q2API_PORT}",
            f'api_keys: ["{API_KEY}"]',
            f'admin_keys: ["{ADMIN_KEY}"]',
            "upstream:",
            f"  endpoint: {self.sim_url}/",
            f"  oidc_endpoint: {self.sim_url}/",
            "state_dir: ${Q2API_STATE_DIR}",
            "shard:",
            "  index: ${Q2API_SHARD_INDEX}",
            f"  count: {SHARD_COUNT}",
            "log: {level: info, format: json}",
            "accounts:",
        ]
        for account, explicit in EXPLICIT_SHARDS.items():
            line = (
                f"  - {{id: {account}, client_id: sim-client-{account}, client_secret: {CLIENT_SECRET}, "
                f"refresh_token: {seed_token(account)}"
            )
            lines.append(line + (f", shard: {explicit}}}" if explicit is not None else "}"))
        self.config.write_text("\n".join(lines) + "\n")

    def check_config(self, index: int) -> str:
        result = subprocess.run(
            [self.bin, "check", "-c", str(self.config)], env=self.instance_env(index), capture_output=True, text=True, timeout=30
        )
        return result.stdout + result.stderr

    def start_instance(self, index: int) -> None:
        proc = self._spawn(f"serve-{index}", [self.bin, "serve", "-c", str(self.config)], env=self.instance_env(index))
        self.wait_for(self.instance_url(index) + "/healthz", proc)

    def kill_instance(self, index: int) -> None:
        """SIGKILL, as a crash or an OOM kill would; returns once the process is reaped."""
        proc = self.procs[f"serve-{index}"]
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(timeout=10)
        with open(proc.log, "ab") as out:
            out.write(f"----- {time.strftime('%H:%M:%S')} killed with SIGKILL by the test\n".encode())

    def render_nginx(self) -> None:
        """examples/nginx/q2api.conf with its three `server` lines, `listen` and access log pointed here."""
        text = EXAMPLE.read_text()
        servers = re.findall(r"^\s*server\s+127\.0\.0\.1:\d+\s", text, flags=re.M)
        assert len(servers) == SHARD_COUNT, f"expected {SHARD_COUNT} `server 127.0.0.1:PORT` lines in {EXAMPLE}"
        ports = iter(self.instance_ports)
        text = re.sub(r"^(\s*server\s+127\.0\.0\.1:)\d+(\s)", lambda m: f"{m.group(1)}{next(ports)}{m.group(2)}", text, flags=re.M)
        text, n = re.subn(r"^(\s*)listen 8080;", rf"\g<1>listen 127.0.0.1:{self.nginx_port};", text, flags=re.M)
        assert n == 1, f"expected one `listen 8080;` in {EXAMPLE}"
        text, n = re.subn(r"access_log /var/log/nginx/q2api\.access\.log q2api;", f"access_log {self.nginx_access_log} q2api;", text)
        assert n == 1, f"expected one `access_log /var/log/nginx/q2api.access.log q2api;` in {EXAMPLE}"
        prefix = self.nginx_prefix
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        (prefix / "q2api.conf").write_text(text)
        temp_paths = "\n".join(f"    {kind}_temp_path {prefix}/tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (prefix / "nginx.conf").write_text(
            f"""# Generated by Tests/ScaleOut/conftest.py: a throw-away nginx around examples/nginx/q2api.conf.
daemon off;
worker_processes 2;  # two workers: the passive health state must be shared (upstream `zone`)
pid {prefix}/nginx.pid;
error_log {self.nginx_error_log} notice;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/other.access.log;
{temp_paths}
    include {prefix}/q2api.conf;
}}
"""
        )
        # Workers run as nobody when nginx is started by root: let them through the temp folders.
        for path in (self.workdir, prefix, prefix / "tmp"):
            path.chmod(path.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)

    def nginx_argv(self, *extra: str) -> list[str]:
        prefix = str(self.nginx_prefix)
        return [self.nginx_bin, "-p", prefix, "-c", f"{prefix}/nginx.conf", "-e", str(self.nginx_error_log), *extra]

    def start_nginx(self) -> None:
        check = subprocess.run(self.nginx_argv("-t"), capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t refused the rendered config:\n{check.stdout}{check.stderr}"
        proc = self._spawn("nginx", self.nginx_argv())
        self.wait_for(self.nginx_url + "/healthz", proc)

    def stop_all(self) -> None:
        if self.procs:
            try:  # a stream paused at [[sim:hold]] would otherwise keep an instance's drain waiting
                httpx.post(self.sim_url + "/__sim/release", timeout=2, trust_env=False)
            except httpx.HTTPError:
                pass
        order = [p for p in self.procs.values() if p.name == "nginx"] + [p for p in self.procs.values() if p.name != "nginx"]
        for proc in order:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in order:
            try:
                proc.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=5)

    # -- observing ------------------------------------------------------------------------------

    def get_json(self, url: str):
        response = httpx.get(url, timeout=HTTP_TIMEOUT, trust_env=False)
        assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text}"
        return response.json()

    def healthz(self, index: int) -> dict:
        return self.get_json(self.instance_url(index) + "/healthz")

    def sim_state(self) -> dict:
        return self.get_json(self.sim_url + "/__sim/state")

    def metrics(self, index: int) -> dict:
        response = httpx.get(self.instance_url(index) + "/metrics", timeout=HTTP_TIMEOUT, trust_env=False)
        assert response.status_code == 200
        return parse_prometheus(response.text)

    def accounts_cli(self, index: int) -> list[dict]:
        result = subprocess.run(
            [self.bin, "accounts", "-c", str(self.config), "--json"], env=self.instance_env(index), capture_output=True, text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def q2api_requests(self, index: int) -> dict[str, dict]:
        """request.id -> the access-log record of every request instance `index` answered (all its runs)."""
        records = {}
        for line in self.procs[f"serve-{index}"].log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("msg") == "request" and "request.id" in record:
                records[record["request.id"]] = record
        return records

    def nginx_requests(self) -> list[dict]:
        if not self.nginx_access_log.exists():
            return []
        return [json.loads(line) for line in self.nginx_access_log.read_text().splitlines() if line.strip()]

    def state_files(self, index: int) -> dict[str, bytes]:
        return {p.stem: p.read_bytes() for p in sorted(self.state_dir(index).glob("*.jsonl"))}


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"({error})"


def find_nginx() -> str | None:
    explicit = os.environ.get("NGINX_BIN")
    if explicit:
        return explicit
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def find_q2api() -> str | None:
    explicit = os.environ.get("Q2API_BIN")
    if explicit:
        return explicit
    candidate = ROOT / ".build" / "debug" / "q2api"
    return str(candidate) if candidate.is_file() else None
