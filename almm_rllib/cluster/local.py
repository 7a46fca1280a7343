"""A local multi-node Ray cluster on one machine: a head and a ``cpu_worker`` node, each with its own ports.

    python -m almm_rllib.cluster.local up [--dir /tmp/almm_cluster] [--base-port 23400] [--port gcs=7000 ...]
    python -m almm_rllib.cluster.local status [--dir ...] [--json]
    python -m almm_rllib.cluster.local down [--dir ...]

What ``up`` does:

* starts ``ray start --head --block`` and then ``ray start --block --address=<head>`` as two process trees in
  their own sessions, every port taken from a non-default block (see :data:`PORT_OFFSETS`; base 23400, so it
  never meets a default ``ray start``/``ray.init()`` at 6379/8265/10001/52365), each node with its own
  ``--temp-dir`` under ``--dir``, the worker node with ``--resources '{"cpu_worker": 1}'`` so that env runners
  can be pinned to it (``env_runners.custom_resources_per_env_runner={cpu_worker: 0.01}``);
* records the ids (and start times) of the processes it started in ``<dir>/almm_cluster.json``;
* waits until the dashboard reports both nodes alive, then prints the addresses and the client environment.

``down`` stops exactly those process trees by process id: SIGTERM to each ``ray start --block`` process (which
then terminates its own children), SIGKILL to whatever of the recorded trees is still alive after a grace
period. It never runs ``ray stop`` and never kills by name, so other Ray instances on the machine (other
people's ``ray.init()``, another ``up`` with another ``--dir``) are left alone.

Addresses: clients use 127.0.0.1 (the dashboard is bound to it). Ray 2.60's ``ray start`` nevertheless binds
the GCS, raylets and agents on all interfaces and advertises the machine's routable IP as the node IP (it maps
``--node-ip-address=127.0.0.1`` to that IP on Linux), so the ports are reachable from the network: token
authentication, the default here, is what keeps other hosts out.

Token authentication (Ray 2.60): by default the cluster runs with ``RAY_AUTH_MODE=token`` and a token of its
own in ``<dir>/auth_token`` (mode 0600), handed to its processes with ``RAY_AUTH_TOKEN_PATH``. It therefore
works the same whether or not ``~/.ray/auth_token`` exists, never writes to ``~/.ray``, and a client needs
``RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=<dir>/auth_token`` (``status`` prints the lines; the submitter in
:mod:`almm_rllib.cluster.submit` picks them up from the state file). ``--auth disabled`` starts the cluster
with ``RAY_AUTH_MODE=disabled`` instead, and then every client needs ``RAY_AUTH_MODE=disabled`` too.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from almm_rllib.cluster._common import (
    AUTH_MODE_VAR,
    AUTH_MODES,
    TOKEN_PATH_VAR,
    TOKEN_VAR,
    ClusterError,
    http_json,
    psutil,
    ray_executable,
)

#: Root of the cluster's files. Short on purpose: Ray's unix socket paths (``<temp>/session_*/sockets/...``)
#: must stay under ~107 characters.
DEFAULT_DIR = "/tmp/almm_cluster"
DEFAULT_BASE_PORT = 23400
STATE_FILE = "almm_cluster.json"
TOKEN_FILE = "auth_token"
HOST = "127.0.0.1"
WORKER_RESOURCE = "cpu_worker"
HEAD_RESOURCE = "head"

#: Every port the two nodes use, as an offset from the base port. Keys are what ``--port KEY=VALUE`` overrides.
#: ``*.min_worker``/``*.max_worker`` bound the ports of each node's worker processes (one per Ray worker).
PORT_OFFSETS: dict[str, int] = {
    "gcs": 0,
    "dashboard": 1,
    "client_server": 2,
    "head.object_manager": 10,
    "head.node_manager": 11,
    "head.dashboard_agent_listen": 12,
    "head.dashboard_agent_grpc": 13,
    "head.metrics_export": 14,
    "head.runtime_env_agent": 15,
    "worker.object_manager": 20,
    "worker.node_manager": 21,
    "worker.dashboard_agent_listen": 22,
    "worker.dashboard_agent_grpc": 23,
    "worker.metrics_export": 24,
    "worker.runtime_env_agent": 25,
    "head.min_worker": 100,
    "head.max_worker": 299,
    "worker.min_worker": 300,
    "worker.max_worker": 499,
}
#: Per-node port keys and the ``ray start`` flag each maps to.
NODE_PORT_FLAGS = {
    "object_manager": "--object-manager-port",
    "node_manager": "--node-manager-port",
    "dashboard_agent_listen": "--dashboard-agent-listen-port",
    "dashboard_agent_grpc": "--dashboard-agent-grpc-port",
    "metrics_export": "--metrics-export-port",
    "runtime_env_agent": "--runtime-env-agent-port",
    "min_worker": "--min-worker-port",
    "max_worker": "--max-worker-port",
}
NODES = ("head", "worker")
READY_MARK = "Ray runtime started"


def make_ports(base: int = DEFAULT_BASE_PORT, overrides: dict[str, int] | None = None) -> dict[str, int]:
    """The port map for ``base`` with ``overrides`` applied; checks names, range and that all ports differ."""
    ports = {k: base + off for k, off in PORT_OFFSETS.items()}
    for k, v in (overrides or {}).items():
        if k not in ports:
            raise ClusterError(f"--port {k}: unknown port name (known: {', '.join(PORT_OFFSETS)})")
        ports[k] = int(v)
    for k, v in ports.items():
        if not 1024 <= v <= 65535:
            raise ClusterError(f"port {k}={v} is outside 1024..65535 (base port {base})")
    singles = {k: v for k, v in ports.items() if not k.endswith(("min_worker", "max_worker"))}
    ranges = {n: (ports[f"{n}.min_worker"], ports[f"{n}.max_worker"]) for n in NODES}
    for n, (lo, hi) in ranges.items():
        if lo >= hi:
            raise ClusterError(f"port range {n}.min_worker={lo} .. {n}.max_worker={hi} is empty")
    (h_lo, h_hi), (w_lo, w_hi) = ranges["head"], ranges["worker"]
    if h_lo <= w_hi and w_lo <= h_hi:
        raise ClusterError(
            f"the worker-process port ranges of head ({h_lo}-{h_hi}) and worker ({w_lo}-{w_hi}) overlap"
        )
    seen: dict[int, str] = {}
    for k, v in singles.items():
        if v in seen:
            raise ClusterError(f"ports {seen[v]} and {k} are both {v}")
        seen[v] = k
        for n, (lo, hi) in ranges.items():
            if lo <= v <= hi:
                raise ClusterError(f"port {k}={v} falls inside the {n} worker-process range {lo}-{hi}")
    return ports


def ports_in_use(ports: dict[str, int], host: str = HOST) -> list[str]:
    """``KEY=PORT`` for each port (ranges included) that cannot be bound on ``host`` right now."""
    busy = []
    for k, v in ports.items():
        if k.endswith("min_worker"):
            node = k.split(".")[0]
            candidates = range(v, ports[f"{node}.max_worker"] + 1)
        elif k.endswith("max_worker"):
            continue
        else:
            candidates = [v]
        for port in candidates:
            for addr in {host, "0.0.0.0"}:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        s.bind((addr, port))
                    except OSError:
                        busy.append(f"{k}={port}" if port == v else f"{k} range: {port}")
                        break
            else:
                continue
            break
    return busy


@dataclass
class LocalCluster:
    """Settings of a local two-node cluster. ``root`` holds the state file, the token, logs and temp dirs."""

    root: pathlib.Path = field(default_factory=lambda: pathlib.Path(DEFAULT_DIR))
    base_port: int = DEFAULT_BASE_PORT
    port_overrides: dict[str, int] = field(default_factory=dict)
    head_cpus: int = 1
    worker_cpus: int = 1
    worker_resources: dict[str, float] = field(default_factory=lambda: {WORKER_RESOURCE: 1})
    head_resources: dict[str, float] = field(default_factory=lambda: {HEAD_RESOURCE: 1})
    object_store_mb: int = 512
    auth: str = "token"
    host: str = HOST

    def __post_init__(self):
        self.root = pathlib.Path(self.root).expanduser().resolve()
        if self.auth not in AUTH_MODES:
            raise ClusterError(f"auth must be one of {', '.join(AUTH_MODES)}, got {self.auth!r}")
        if len(str(self.root)) > 40:
            raise ClusterError(
                f"--dir {self.root} is too long ({len(str(self.root))} chars, at most 40): Ray's unix socket "
                "paths under it must stay below ~107 characters"
            )
        self.ports = make_ports(self.base_port, self.port_overrides)

    @property
    def state_path(self) -> pathlib.Path:
        return self.root / STATE_FILE

    @property
    def token_path(self) -> pathlib.Path:
        return self.root / TOKEN_FILE

    def start_args(self, role: str) -> list[str]:
        """The ``ray start`` command line of ``role`` ("head" or "worker")."""
        p = self.ports
        args = [ray_executable(), "start", "--block", "--log-style=record", "--log-color=false"]
        if role == "head":
            args += [
                "--head",
                f"--port={p['gcs']}",
                "--include-dashboard=true",
                f"--dashboard-host={self.host}",
                f"--dashboard-port={p['dashboard']}",
                f"--ray-client-server-port={p['client_server']}",
                f"--num-cpus={self.head_cpus}",
            ]
            if self.head_resources:
                args.append(f"--resources={json.dumps(self.head_resources)}")
        else:
            args += [
                f"--address={self.host}:{p['gcs']}",
                f"--num-cpus={self.worker_cpus}",
                f"--resources={json.dumps(self.worker_resources)}",
            ]
        args += [f"{flag}={p[f'{role}.{key}']}" for key, flag in NODE_PORT_FLAGS.items()]
        args += [
            "--num-gpus=0",
            f"--object-store-memory={self.object_store_mb * 1024 * 1024}",
            f"--temp-dir={self.root / role}",
            "--disable-usage-stats",
        ]
        return args

    def node_env(self) -> dict[str, str]:
        """Environment of the Ray processes: this cluster's auth settings, the venv's bin first on the PATH."""
        env = dict(os.environ)
        for k in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", AUTH_MODE_VAR, TOKEN_VAR, TOKEN_PATH_VAR):
            env.pop(k, None)
        env.update(client_env_for(self.auth, self.token_path))
        env["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), env.get("PATH", "")])
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # SIGTERM to `ray start --block` first drains the node for up to 30 s; `down` wants it gone now
        env["RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S"] = "0"
        return env


def client_env_for(auth: str, token_path: pathlib.Path | str) -> dict[str, str]:
    """What a client (``ray`` CLI, ``ray.init``, the job SDK) needs in its environment to talk to the cluster."""
    env = {AUTH_MODE_VAR: auth}
    if auth == "token":
        env[TOKEN_PATH_VAR] = str(token_path)
    return env


def client_env(state: dict) -> dict[str, str]:
    return client_env_for(state["auth"], state.get("token_path", ""))


def read_state(root: pathlib.Path | str = DEFAULT_DIR) -> dict | None:
    path = pathlib.Path(root).expanduser().resolve() / STATE_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as e:
        raise ClusterError(f"cannot read the cluster state {path}: {e}") from None


def _write_state(path: pathlib.Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def state_token(state: dict) -> str | None:
    if state.get("auth") != "token":
        return None
    try:
        return pathlib.Path(state["token_path"]).read_text().strip() or None
    except OSError:
        return None


# ------------------------------------------------------------------------------------------------------------
# Process bookkeeping: a process is identified by (pid, create_time), so a recycled pid is never mistaken for ours.


def _proc_record(proc) -> dict:
    try:
        name = proc.name()
    except Exception:
        name = "?"
    return {"pid": proc.pid, "create_time": proc.create_time(), "name": name}


def _same_process(rec: dict):
    """The psutil.Process of a record if that very process is still running (not a zombie), else None."""
    ps = psutil()
    try:
        proc = ps.Process(rec["pid"])
        if abs(proc.create_time() - rec["create_time"]) > 0.05:
            return None
        if proc.status() == ps.STATUS_ZOMBIE:
            return None
        return proc
    except (ps.NoSuchProcess, ps.AccessDenied):
        return None


def _tree(rec: dict) -> list:
    """The recorded process and all its live descendants."""
    ps = psutil()
    root = _same_process(rec)
    if root is None:
        return []
    try:
        kids = root.children(recursive=True)
    except ps.NoSuchProcess:
        kids = []
    return [root, *[k for k in kids if _alive(k)]]


def _alive(proc) -> bool:
    ps = psutil()
    try:
        return proc.is_running() and proc.status() != ps.STATUS_ZOMBIE
    except ps.NoSuchProcess:
        return False


def recorded_processes(state: dict) -> list[dict]:
    """Every process record of the state: the two roots and the snapshot of their trees."""
    recs = [n for n in state.get("nodes", {}).values() if n.get("pid")]
    recs += state.get("processes", [])
    seen, out = set(), []
    for r in recs:
        key = (r["pid"], round(r["create_time"], 2))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def live_processes(state: dict) -> list:
    """Processes of this cluster still running: the recorded ones and the current trees of the two roots."""
    procs = {}
    for node in state.get("nodes", {}).values():
        if node.get("pid"):
            for p in _tree(node):
                procs[p.pid] = p
    for rec in state.get("processes", []):
        p = _same_process(rec)
        if p is not None:
            procs[p.pid] = p
    return list(procs.values())


def _snapshot(state: dict) -> list[dict]:
    out = []
    for p in live_processes(state):
        try:
            out.append(_proc_record(p))
        except Exception:
            continue
    return sorted(out, key=lambda r: r["pid"])


# ------------------------------------------------------------------------------------------------------------
# up / down / status


def _log_tail(path: pathlib.Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def _start_node(cluster: LocalCluster, role: str, state: dict, env: dict, timeout: float) -> None:
    log = cluster.root / f"{role}.log"
    args = cluster.start_args(role)
    (cluster.root / role).mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    rec = _proc_record(psutil().Process(proc.pid))
    state["nodes"][role] = {**rec, "cmd": args, "log": str(log), "temp_dir": str(cluster.root / role)}
    _write_state(cluster.state_path, state)  # recorded before waiting: `down` can clean up a failed start
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if READY_MARK in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise ClusterError(
                f"`ray start` of the {role} node exited with code {proc.returncode}; {log}:\n{_log_tail(log)}"
            )
        time.sleep(0.5)
    raise ClusterError(f"the {role} node did not start within {timeout:.0f} s; {log}:\n{_log_tail(log)}")


def alive_nodes(state: dict, timeout: float = 10.0) -> list[dict]:
    """The dashboard's view of the cluster's alive nodes (state API: node_id, resources_total, ...)."""
    url = f"{state['dashboard_url']}/api/v0/nodes?limit=100&detail=1"
    data = http_json(url, token=state_token(state), timeout=timeout)
    nodes = data.get("data", {}).get("result", {}).get("result", [])
    return [n for n in nodes if n.get("state") == "ALIVE"]


def _wait_for_cluster(state: dict, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            nodes = alive_nodes(state, timeout=5.0)
            if len(nodes) >= 2:
                return nodes
            last = f"{len(nodes)} alive node(s)"
        except ClusterError as e:
            last = str(e)
        time.sleep(1.0)
    raise ClusterError(
        f"the dashboard at {state['dashboard_url']} did not report 2 alive nodes in time: {last}"
    )


def up(cluster: LocalCluster, *, timeout: float = 180.0) -> dict:
    """Start the head and the worker node; returns the recorded state. Raises ClusterError (after cleaning up)."""
    old = read_state(cluster.root)
    if old is not None:
        if live_processes(old):
            raise ClusterError(
                f"a cluster recorded in {cluster.state_path} is still running "
                f"(dashboard {old.get('dashboard_url')}); stop it with `python -m almm_rllib.cluster.local down "
                f"--dir {cluster.root}`"
            )
        cluster.state_path.unlink()
    busy = ports_in_use(cluster.ports, cluster.host)
    if busy:
        raise ClusterError(
            "ports already in use: " + ", ".join(busy[:10]) + " — pick another block with --base-port, or "
            "override single ports with --port NAME=PORT"
        )
    cluster.root.mkdir(parents=True, exist_ok=True)
    os.chmod(cluster.root, 0o700)
    if cluster.auth == "token":
        tp = cluster.token_path
        if not (tp.is_file() and tp.read_text().strip()):
            fd = os.open(tp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    p = cluster.ports
    state = {
        "version": 1,
        "root": str(cluster.root),
        "host": cluster.host,
        "auth": cluster.auth,
        "token_path": str(cluster.token_path) if cluster.auth == "token" else None,
        "gcs_address": f"{cluster.host}:{p['gcs']}",
        "dashboard_url": f"http://{cluster.host}:{p['dashboard']}",
        "client_address": f"ray://{cluster.host}:{p['client_server']}",
        "ports": p,
        "worker_resources": cluster.worker_resources,
        "head_resources": cluster.head_resources,
        "nodes": {},
        "processes": [],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    env = cluster.node_env()
    try:
        _start_node(cluster, "head", state, env, timeout)
        _start_node(cluster, "worker", state, env, timeout)
        nodes = _wait_for_cluster(state, timeout)
    except BaseException:
        try:
            down(cluster.root, quiet=True)
        except ClusterError as e:
            print(f"almm cluster up: cleaning up after the failed start: {e}", file=sys.stderr)
        raise
    for n in nodes:
        role = "head" if n.get("is_head_node") else "worker"
        state["nodes"][role]["node_id"] = n.get("node_id")
    state["processes"] = _snapshot(state)
    _write_state(cluster.state_path, state)
    return state


def _signal(proc, sig) -> None:
    ps = psutil()
    try:
        proc.send_signal(sig)
    except (ps.NoSuchProcess, ps.AccessDenied):
        pass


def down(root: pathlib.Path | str = DEFAULT_DIR, *, grace: float = 20.0, quiet: bool = False) -> list[dict]:
    """Stop the recorded process trees by process id; returns the processes that were still running.

    SIGTERM goes to each ``ray start --block`` process (worker node first), which shuts down its own children;
    after ``grace`` seconds every process of the recorded trees still alive gets SIGKILL. The state file is
    removed once nothing is left. Raises ClusterError if a process survives SIGKILL.
    """
    ps = psutil()
    root = pathlib.Path(root).expanduser().resolve()
    state = read_state(root)
    if state is None:
        if not quiet:
            print(f"no local cluster recorded in {root / STATE_FILE}")
        return []
    procs = {p.pid: p for p in live_processes(state)}
    found = [_proc_record(p) for p in procs.values() if _alive(p)]
    for role in ("worker", "head"):
        rec = state.get("nodes", {}).get(role)
        proc = _same_process(rec) if rec and rec.get("pid") else None
        if proc is not None:
            _signal(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        for p in list(procs.values()):  # children started while stopping are ours too
            if _alive(p):
                try:
                    for k in p.children(recursive=True):
                        procs.setdefault(k.pid, k)
                except ps.NoSuchProcess:
                    pass
        if not any(_alive(p) for p in procs.values()):
            break
        time.sleep(0.25)
    left = [p for p in procs.values() if _alive(p)]
    for p in left:
        _signal(p, signal.SIGKILL)
    ps.wait_procs(left, timeout=10)
    survivors = [p for p in procs.values() if _alive(p)]
    if survivors:
        raise ClusterError(
            "processes of the cluster survived SIGKILL: " + ", ".join(f"{p.pid}" for p in survivors)
        )
    (root / STATE_FILE).unlink(missing_ok=True)
    if not quiet:
        extra = f" ({len(left)} needed SIGKILL)" if left else ""
        print(f"stopped the local cluster in {root}: {len(found)} process(es) ended{extra}")
    return found


def status(root: pathlib.Path | str = DEFAULT_DIR) -> dict:
    """Recorded state plus what is running now: live processes per role and the dashboard's alive nodes."""
    state = read_state(root)
    if state is None:
        return {"running": False, "root": str(pathlib.Path(root).expanduser().resolve())}
    out = dict(state)
    out["live_pids"] = sorted(p.pid for p in live_processes(state))
    out["roots_alive"] = {
        role: _same_process(rec) is not None for role, rec in state.get("nodes", {}).items() if rec.get("pid")
    }
    try:
        out["alive_nodes"] = [
            {"node_id": n.get("node_id"), "resources_total": n.get("resources_total")}
            for n in alive_nodes(state)
        ]
    except ClusterError as e:
        out["alive_nodes"] = []
        out["dashboard_error"] = str(e)
    out["running"] = all(out["roots_alive"].values()) and len(out["alive_nodes"]) >= 2
    return out


def describe(state: dict) -> str:
    env = client_env(state)
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    lines = [
        f"local Ray cluster in {state['root']} (auth: {state['auth']})",
        f"  GCS address     : {state['gcs_address']}",
        f"  dashboard / jobs: {state['dashboard_url']}",
        f"  Ray client      : {state['client_address']}",
    ]
    for role, rec in state.get("nodes", {}).items():
        lines.append(
            f"  {role:<6} node    : pid {rec['pid']}, log {rec.get('log')}, node id {rec.get('node_id', '?')}"
        )
    lines += [
        "client environment (ray CLI, ray.init, job SDK):",
        f"  export {exports}",
        "submit an experiment:",
        f"  make train-cluster EXPERIMENT=experiments/smoke.yaml RAY_ADDRESS={state['dashboard_url']}",
        "stop it: make cluster-down   (or python -m almm_rllib.cluster.local down --dir "
        + state["root"]
        + ")",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------------
# CLI


def _parse_port(text: str) -> tuple[str, int]:
    key, sep, val = text.partition("=")
    if not sep or not val.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {text!r}")
    return key.strip(), int(val)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m almm_rllib.cluster.local",
        description="Start, inspect or stop a local two-node Ray cluster (head + cpu_worker node) on this machine.",
    )
    ap.add_argument("command", choices=("up", "down", "status"))
    ap.add_argument(
        "--dir",
        default=os.environ.get("ALMM_CLUSTER_DIR", DEFAULT_DIR),
        help=f"state, token, logs and temp dirs (default $ALMM_CLUSTER_DIR or {DEFAULT_DIR})",
    )
    ap.add_argument(
        "--base-port",
        type=int,
        default=int(os.environ.get("ALMM_CLUSTER_BASE_PORT", DEFAULT_BASE_PORT)),
        help=f"first port of the block (default $ALMM_CLUSTER_BASE_PORT or {DEFAULT_BASE_PORT}); "
        f"ports: {', '.join(f'{k}=+{v}' for k, v in PORT_OFFSETS.items())}",
    )
    ap.add_argument(
        "--port",
        dest="ports",
        type=_parse_port,
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="override one port, e.g. --port dashboard=8300 (repeatable)",
    )
    ap.add_argument("--head-cpus", type=int, default=1, help="logical CPUs of the head node (default 1)")
    ap.add_argument("--worker-cpus", type=int, default=1, help="logical CPUs of the worker node (default 1)")
    ap.add_argument(
        "--worker-resources",
        default=json.dumps({WORKER_RESOURCE: 1}),
        help='custom resources of the worker node as JSON (default {"cpu_worker": 1})',
    )
    ap.add_argument(
        "--head-resources",
        default=json.dumps({HEAD_RESOURCE: 1}),
        help='custom resources of the head node as JSON (default {"head": 1}, which pins the algorithm\'s main '
        "process with resources.custom_resources_for_main_process={head: 0.01})",
    )
    ap.add_argument(
        "--object-store-mb", type=int, default=512, help="object store per node, MiB (default 512)"
    )
    ap.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default="token",
        help="token: a per-cluster token in DIR/auth_token (default); disabled: RAY_AUTH_MODE=disabled",
    )
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each step of `up`")
    ap.add_argument("--json", action="store_true", help="status/up: print the state as JSON")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            res = {}
            for opt in ("worker_resources", "head_resources"):
                try:
                    res[opt] = json.loads(getattr(args, opt))
                except json.JSONDecodeError as e:
                    raise ClusterError(f"--{opt.replace('_', '-')} is not JSON: {e}") from None
            cluster = LocalCluster(
                root=pathlib.Path(args.dir),
                base_port=args.base_port,
                port_overrides=dict(args.ports),
                head_cpus=args.head_cpus,
                worker_cpus=args.worker_cpus,
                worker_resources=res["worker_resources"],
                head_resources=res["head_resources"],
                object_store_mb=args.object_store_mb,
                auth=args.auth,
            )
            state = up(cluster, timeout=args.timeout)
            print(json.dumps(state, indent=2) if args.json else describe(state))
            return 0
        if args.command == "down":
            down(args.dir)
            return 0
        st = status(args.dir)
        if args.json:
            print(json.dumps(st, indent=2))
        elif not st.get("nodes"):
            print(f"no local cluster recorded in {st['root']}")
        else:
            print(describe(st))
            print(
                f"live processes: {len(st['live_pids'])}; alive nodes: {len(st['alive_nodes'])}"
                + (f"; dashboard: {st['dashboard_error']}" if st.get("dashboard_error") else "")
            )
        return 0 if st["running"] else 1
    except ClusterError as e:
        print(f"almm cluster {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
