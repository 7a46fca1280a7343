"""Cluster: a real two-node Ray cluster on this machine running the smoke experiment as a Ray job, the launcher
configs through Ray's own validation, the KubeRay manifest's structure, and the pieces in between.

The cluster (a head and a ``cpu_worker`` node, each with its own ports and temp dir, a per-cluster token) is
started and stopped with ``python -m almm_rllib.cluster.local`` in subprocesses, as ``make cluster-up`` and
``make cluster-down`` do. The job is submitted with ``python -m almm_rllib.cluster.submit`` (``ray job submit``).
The module fixture stops the cluster by process id even when a test fails; the last cluster test checks that
nothing of it is left and that a process merely *named* like Ray survives (no kill by name).
"""

from __future__ import annotations

import copy
import glob
import json
import os
import pathlib
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from almm_rllib.cluster._common import ClusterError, http_json, psutil
from almm_rllib.cluster.local import (
    PORT_OFFSETS,
    LocalCluster,
    make_ports,
    ports_in_use,
    read_state,
    recorded_processes,
    state_token,
)
from almm_rllib.cluster.submit import DEFAULT_EXCLUDES, build_submission, normalize_address

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLUSTER_DIR = ROOT / "cluster"
SMOKE = "experiments/smoke.yaml"
PY = sys.executable
#: Ray's default ports: the local cluster must never take them (another Ray on the box may hold them)
RAY_DEFAULT_PORTS = {6379, 8265, 10001, 52365, 8076, 8077, 8078, 44217, 44227}
IMAGE_PROJECT_DIR = "/home/ray/almm_rllib"  # where cluster/Dockerfile puts the repository


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    env.update(extra)
    return env


def _tail(text: str, n: int = 4000) -> str:
    return text[-n:] if text else ""


def _free_base() -> int:
    for base in random.sample(range(24000, 31000, 500), k=14):
        if not ports_in_use(make_ports(base)):
            return base
    pytest.fail("no free block of 500 ports between 24000 and 31000 for the test cluster")


def _local(cmd: str, root: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "almm_rllib.cluster.local", cmd, "--dir", root, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def cluster():
    root = tempfile.mkdtemp(prefix="almmc", dir="/tmp")  # short: Ray's socket paths have a length limit
    base = _free_base()
    t0 = time.perf_counter()
    out = _local("up", root, "--base-port", str(base), "--json", "--timeout", "240", timeout=600)
    if out.returncode != 0:
        _local("down", root)
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(
            f"`almm_rllib.cluster.local up` failed ({out.returncode}):\n{_tail(out.stderr)}\n{_tail(out.stdout)}"
        )
    state = json.loads(out.stdout)
    state["_base_port"] = base
    print(f"test cluster up in {time.perf_counter() - t0:.1f} s at {state['dashboard_url']} ({root})")
    yield state
    if read_state(root) is not None:  # a test failed before the down test: still stop exactly our processes
        _local("down", root, timeout=180)
    shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------------
# The real cluster (module order matters: the down test runs last)


@pytest.mark.ray
def test_two_nodes_with_their_own_ports_temp_dirs_and_token(cluster, tmp_path):
    root = pathlib.Path(cluster["root"])
    head, worker = cluster["nodes"]["head"], cluster["nodes"]["worker"]
    assert head["temp_dir"] != worker["temp_dir"]
    for role, node in (("head", head), ("worker", worker)):
        assert pathlib.Path(node["temp_dir"]) == root / role
        assert list(pathlib.Path(node["temp_dir"]).glob("session_*")), f"no Ray session in {node['temp_dir']}"
        assert f"--temp-dir={root / role}" in node["cmd"]
        ports = {int(a.split("=")[1]) for a in node["cmd"] if a.split("=")[0].endswith("-port")}
        assert ports and not ports & RAY_DEFAULT_PORTS, (
            f"{role} uses a default Ray port: {ports & RAY_DEFAULT_PORTS}"
        )
    assert not set(cluster["ports"].values()) & RAY_DEFAULT_PORTS
    assert '--resources={"cpu_worker": 1}' in worker["cmd"]

    from almm_rllib.cluster.local import alive_nodes

    nodes = {n["node_id"]: n for n in alive_nodes(cluster)}
    assert set(nodes) == {head["node_id"], worker["node_id"]}, nodes
    assert nodes[worker["node_id"]]["resources_total"].get("cpu_worker") == 1
    assert nodes[head["node_id"]]["resources_total"].get("head") == 1
    assert "cpu_worker" not in nodes[head["node_id"]]["resources_total"]

    # token authentication is on, with the cluster's own token (~/.ray/auth_token, if any, is not it)
    token = state_token(cluster)
    assert token and (root / "auth_token").stat().st_mode & 0o077 == 0
    home_token = pathlib.Path.home() / ".ray" / "auth_token"
    if home_token.is_file():
        assert home_token.read_text().strip() != token
    with pytest.raises(ClusterError, match="HTTP 401"):
        http_json(f"{cluster['dashboard_url']}/api/v0/nodes")
    # a client on a machine without ~/.ray/auth_token needs only the exported client environment
    empty_home = tmp_path / "home"
    empty_home.mkdir()
    client = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(root / "auth_token")}
    ray = str(pathlib.Path(PY).parent / "ray")
    ok = subprocess.run(
        [ray, "job", "list", "--address", cluster["dashboard_url"]],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(HOME=str(empty_home), **client),
    )
    assert ok.returncode == 0, _tail(ok.stderr)
    refused = subprocess.run(
        [ray, "job", "list", "--address", cluster["dashboard_url"]],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in _env(HOME=str(empty_home)).items() if not k.startswith("RAY_AUTH")},
    )
    assert refused.returncode != 0, "the cluster answered a client without its token"


@pytest.mark.ray
def test_smoke_job_pins_env_runners_to_the_worker_node(cluster, tmp_path):
    storage = tmp_path / "tune"
    sid = f"almm-test-{os.getpid()}-{random.randrange(1 << 30):x}"
    args = [
        PY,
        "-m",
        "almm_rllib.cluster.submit",
        SMOKE,
        "--address",
        cluster["dashboard_url"],
        "--cluster-dir",
        cluster["root"],
        "--submission-id",
        sid,
        "--set",
        "env_runners.custom_resources_per_env_runner={cpu_worker: 0.01}",
        "--set",
        "resources.custom_resources_for_main_process={head: 0.01}",
        # one iteration samples on the worker's env runner, trains on the head and checkpoints at the end: all
        # that is checked below
        "--set",
        "stop.training_iteration=1",
        # the rest of the repository is uploaded, but the job imports the package the nodes have (as on a real
        # cluster, where every node has it installed): numba caches kernels by their source file's path, so an
        # uploaded copy (a new path on each node) would compile every market kernel cold in the driver and in
        # each env runner, ~2 minutes of this test on two busy cores, instead of loading them from the cache
        "--exclude",
        "/almm_rllib/",
        "--storage",
        str(storage),
    ]
    t0 = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, timeout=720, env=_env(), cwd=ROOT)
    wall = time.perf_counter() - t0
    log = out.stdout + out.stderr
    assert out.returncode == 0, (
        f"job {sid} did not succeed (exit {out.returncode}) after {wall:.0f} s:\n{_tail(log, 6000)}"
    )
    assert f"job {sid} SUCCEEDED" in log
    assert "ray job submit" in log and "--working-dir" in log
    print(f"smoke job on the two-node cluster: {wall:.1f} s")

    token = state_token(cluster)
    info = http_json(f"{cluster['dashboard_url']}/api/jobs/{sid}", token=token)
    assert info["status"] == "SUCCEEDED", info
    assert info["runtime_env"]["env_vars"]["RAY_AUTH_MODE"] == "token"
    assert not any(k in info["runtime_env"]["env_vars"] for k in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))

    # where the actors of this job ran, from the state API (dead actors stay listed with their node)
    data = http_json(f"{cluster['dashboard_url']}/api/v0/actors?limit=10000&detail=1", token=token)
    actors = [a for a in data["data"]["result"]["result"] if a.get("job_id") == info["driver_info"]["id"]]
    by_class: dict[str, set] = {}
    for a in actors:
        by_class.setdefault(a["class_name"], set()).add(a["node_id"])
    worker_id, head_id = cluster["nodes"]["worker"]["node_id"], cluster["nodes"]["head"]["node_id"]
    runners = by_class.get("SingleAgentEnvRunner", set())
    assert runners == {worker_id}, (
        f"env runners ran on {runners}, expected only the worker node {worker_id}: {by_class}"
    )
    assert by_class.get("PPO") == {head_id}, (
        f"the algorithm ran on {by_class.get('PPO')}, expected the head {head_id}"
    )

    # checkpoints and TensorBoard events in the storage dir given with --storage
    trials = glob.glob(str(storage / "smoke" / "PPO_*"))
    assert len(trials) == 1, f"expected one trial dir under {storage / 'smoke'}, found {trials}"
    ckpts = sorted(glob.glob(os.path.join(trials[0], "checkpoint_*")))
    assert ckpts, f"no checkpoint in {trials[0]}"
    assert os.path.isdir(os.path.join(ckpts[-1], "learner_group", "learner", "rl_module", "default_policy"))
    events = glob.glob(os.path.join(trials[0], "events.out.tfevents*"))
    assert events and all(os.path.getsize(e) > 0 for e in events), f"no TensorBoard events in {trials[0]}"


@pytest.mark.ray
def test_down_stops_exactly_the_cluster_processes(cluster):
    ps = psutil()
    state = read_state(cluster["root"])
    assert state is not None, "the cluster state file is gone before down"
    from almm_rllib.cluster.local import live_processes

    live = live_processes(state)
    ours = {(p.pid, round(p.create_time(), 2)) for p in live}
    ours |= {(r["pid"], round(r["create_time"], 2)) for r in recorded_processes(state)}
    assert len(live) >= 6, f"expected the two nodes' process trees, found {len(live)} processes"
    # a bystander that a kill-by-name of raylet processes would take: it must survive
    decoy = subprocess.Popen(["bash", "-c", "exec -a raylet sleep 300"], start_new_session=True)
    try:
        t0 = time.perf_counter()
        out = _local("down", cluster["root"], timeout=180)
        assert out.returncode == 0, _tail(out.stderr + out.stdout)
        print(f"cluster down in {time.perf_counter() - t0:.1f} s: {out.stdout.strip()}")
        assert decoy.poll() is None, "down killed a process that only looks like Ray"
        left = []
        for pid, ctime in ours:
            try:
                p = ps.Process(pid)
                if round(p.create_time(), 2) == ctime and p.status() != ps.STATUS_ZOMBIE:
                    left.append(f"{pid} {p.name()}")
            except ps.NoSuchProcess:
                pass
        assert not left, f"processes of the cluster still running after down: {left}"
        token_path = str(pathlib.Path(cluster["root"]) / "auth_token")
        marked = []
        for p in ps.process_iter(["pid", "name"]):
            try:
                if p.environ().get("RAY_AUTH_TOKEN_PATH") == token_path and p.status() != ps.STATUS_ZOMBIE:
                    marked.append(f"{p.pid} {p.info['name']}")
            except (ps.NoSuchProcess, ps.AccessDenied, ps.ZombieProcess):
                continue
        assert not marked, f"processes started with this cluster's environment survive: {marked}"
        assert read_state(cluster["root"]) is None, "the state file is still there after down"
        deadline = time.monotonic() + 30
        busy = ports_in_use(make_ports(cluster["_base_port"]))
        while busy and time.monotonic() < deadline:
            time.sleep(1)
            busy = ports_in_use(make_ports(cluster["_base_port"]))
        assert not busy, f"ports of the cluster still taken after down: {busy}"
        again = _local("down", cluster["root"])
        assert again.returncode == 0 and "no local cluster" in again.stdout
    finally:
        decoy.kill()
        decoy.wait()


# ------------------------------------------------------------------------------------------------------------
# Launcher configs, KubeRay manifest


@pytest.mark.parametrize("name", ["aws", "gcp"])
def test_launcher_config_passes_rays_validation(name):
    import ray
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((CLUSTER_DIR / f"{name}.yaml").read_text())
    cfg = prepare_config(
        copy.deepcopy(raw)
    )  # what `ray up` does: merge the provider's defaults, then validate
    validate_config(cfg)
    assert cfg["provider"]["type"] == name

    types = cfg["available_node_types"]
    head = types[cfg["head_node_type"]]
    assert head["resources"].get("GPU", 0) >= 1 and head["resources"].get("head") == 1
    assert head["min_workers"] == head["max_workers"] == 0
    workers = {k: v for k, v in types.items() if k != cfg["head_node_type"]}
    assert len(workers) == 1
    (wname, worker) = next(iter(workers.items()))
    assert worker["resources"].get("cpu_worker") == worker["resources"]["CPU"] > 0
    assert "GPU" not in worker["resources"]
    assert 0 <= worker["min_workers"] < worker["max_workers"] <= cfg["max_workers"]

    # every node installs the project with its pins, in a Python 3.11 image of this Ray version
    assert cfg["file_mounts"].get("~/almm_rllib") == "."
    for cmds in (cfg["head_setup_commands"], cfg["worker_setup_commands"]):
        assert any("pip install" in c and "-e ~/almm_rllib" in c for c in cmds), cmds
    for image in (cfg["docker"]["head_image"], cfg["docker"]["worker_image"]):
        assert f"ray:{ray.__version__}-py311" in image
    assert ".venv" in cfg["rsync_exclude"] and "results" in cfg["rsync_exclude"]

    # token authentication: one token for all nodes, every ray start in token mode; dashboard on localhost
    assert cfg["file_mounts"].get("~/.ray/auth_token") == "~/.ray/auth_token"
    for cmds in (cfg["head_start_ray_commands"], cfg["worker_start_ray_commands"]):
        start = [c for c in cmds if "ray start" in c]
        assert start and all("RAY_AUTH_MODE=token" in c for c in start), start
    assert not any("dashboard-host" in c for c in cfg["head_start_ray_commands"])

    # the validation is strict: a misspelled key or a fractional resource is refused
    bad = copy.deepcopy(raw)
    bad["worker_setup_command"] = []
    with pytest.raises(Exception, match="worker_setup_command"):
        validate_config(prepare_config(bad))
    bad = copy.deepcopy(raw)
    bad["available_node_types"][wname]["resources"]["cpu_worker"] = 0.5
    with pytest.raises(Exception, match="integer"):
        validate_config(prepare_config(bad))


def test_kuberay_rayjob_manifest():
    import ray

    from almm_rllib.training.experiment import load_experiment

    docs = [d for d in yaml.safe_load_all((CLUSTER_DIR / "kuberay-rayjob.yaml").read_text()) if d]
    jobs = [d for d in docs if d.get("kind") == "RayJob"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["apiVersion"] == "ray.io/v1" and job["metadata"]["name"]
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["submissionMode"] == "K8sJobMode"
    rc = spec["rayClusterSpec"]
    assert rc["rayVersion"] == ray.__version__
    assert rc["authOptions"]["mode"] == "token"
    assert rc["enableInTreeAutoscaling"] is True

    # the entrypoint: `almm train <an experiment of this repo>` with overrides that validate
    argv = shlex.split(spec["entrypoint"])
    assert argv[:2] == ["almm", "train"], argv
    exp = argv[2]
    assert exp.startswith(IMAGE_PROJECT_DIR + "/"), exp
    local_exp = ROOT / exp.removeprefix(IMAGE_PROJECT_DIR + "/")
    assert local_exp.is_file(), f"the entrypoint names {exp}, but {local_exp} does not exist"
    assert local_exp.name == "ppo_cluster.yaml"
    overrides = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
    loaded = load_experiment(local_exp, overrides)
    assert loaded.spec["env_runners"]["custom_resources_per_env_runner"] == {"cpu_worker": 1}
    assert loaded.spec["resources"]["custom_resources_for_main_process"] == {"head": 0.01}
    dockerfile = (CLUSTER_DIR / "Dockerfile").read_text()
    assert f"WORKDIR {IMAGE_PROJECT_DIR}" in dockerfile and "pip install" in dockerfile

    # a GPU head (with the `head` resource) and one CPU worker group (with `cpu_worker`)
    head = rc["headGroupSpec"]
    (hc,) = [c for c in head["template"]["spec"]["containers"] if c["name"] == "ray-head"]
    assert int(hc["resources"]["limits"]["nvidia.com/gpu"]) >= 1
    assert json.loads(json.loads(head["rayStartParams"]["resources"])) == {"head": 1}
    (group,) = rc["workerGroupSpecs"]
    assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    (wc,) = group["template"]["spec"]["containers"]
    assert "nvidia.com/gpu" not in wc["resources"].get("limits", {})
    res = json.loads(json.loads(group["rayStartParams"]["resources"]))
    assert res == {"cpu_worker": int(group["rayStartParams"]["num-cpus"])}
    assert wc["image"] == hc["image"]

    # Tune storage: a volume mounted on the head, backed by the claim in the same file
    storage = argv[argv.index("--storage") + 1]
    mounts = {m["mountPath"]: m["name"] for m in hc.get("volumeMounts", [])}
    (mount,) = [m for m in mounts if storage.startswith(m + "/")]
    volumes = {v["name"]: v for v in head["template"]["spec"]["volumes"]}
    claim = volumes[mounts[mount]]["persistentVolumeClaim"]["claimName"]
    assert any(d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == claim for d in docs)


# ------------------------------------------------------------------------------------------------------------
# Ports and job submission, without Ray processes


def test_port_block_is_distinct_and_overridable():
    ports = make_ports(23400)
    assert set(ports) == set(PORT_OFFSETS)
    singles = [v for k, v in ports.items() if not k.endswith(("min_worker", "max_worker"))]
    assert len(set(singles)) == len(singles) and not set(singles) & RAY_DEFAULT_PORTS
    assert make_ports(23400, {"dashboard": 8300})["dashboard"] == 8300
    with pytest.raises(ClusterError, match="both"):
        make_ports(23400, {"dashboard": 23400})
    with pytest.raises(ClusterError, match="unknown port name"):
        make_ports(23400, {"dashbord": 9000})
    with pytest.raises(ClusterError, match="inside"):
        make_ports(23400, {"gcs": 23550})
    with pytest.raises(ClusterError, match="too long"):
        LocalCluster(root=pathlib.Path("/tmp") / ("x" * 60))

    c = LocalCluster(root=pathlib.Path("/tmp/almm_x"), base_port=25000)
    head, worker = c.start_args("head"), c.start_args("worker")
    assert "--head" in head and "--block" in head and "--head" not in worker
    assert "--temp-dir=/tmp/almm_x/head" in head and "--temp-dir=/tmp/almm_x/worker" in worker
    assert "--address=127.0.0.1:25000" in worker and '--resources={"cpu_worker": 1}' in worker
    assert "--dashboard-host=127.0.0.1" in head and "--dashboard-port=25001" in head
    env = c.node_env()
    assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN_PATH"] == "/tmp/almm_x/auth_token"
    assert "RAY_AUTH_TOKEN" not in env and "RAY_ADDRESS" not in env
    off = LocalCluster(root=pathlib.Path("/tmp/almm_x"), auth="disabled").node_env()
    assert off["RAY_AUTH_MODE"] == "disabled" and "RAY_AUTH_TOKEN_PATH" not in off


def test_submission_for_the_local_cluster_and_a_remote_one(tmp_path, monkeypatch, capsys):
    from almm_rllib.core.config import ConfigError

    # a recorded local cluster (no processes needed to build the submission)
    root = tmp_path / "c"
    root.mkdir()
    (root / "auth_token").write_text("secret-token")
    state = {
        "root": str(root),
        "auth": "token",
        "token_path": str(root / "auth_token"),
        "dashboard_url": "http://127.0.0.1:23401",
        "nodes": {},
    }
    (root / "almm_cluster.json").write_text(json.dumps(state))
    monkeypatch.chdir(ROOT)
    over = "env_runners.custom_resources_per_env_runner={cpu_worker: 0.01}"
    sub = build_submission(SMOKE, "127.0.0.1:23401", overrides=[over], cluster_dir=str(root))
    assert sub.address == "http://127.0.0.1:23401" and sub.working_dir == str(ROOT)
    assert sub.client_env == {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(root / "auth_token")}
    assert sub.token == "secret-token"
    assert sub.runtime_env["env_vars"]["RAY_AUTH_MODE"] == "token"
    assert "secret-token" not in json.dumps(sub.runtime_env) + json.dumps(sub.metadata)
    for pat in ("results/", ".venv/", ".git/", "__pycache__/"):
        assert pat in sub.runtime_env["excludes"]
    assert set(DEFAULT_EXCLUDES) <= set(sub.runtime_env["excludes"])
    # the smoke YAML has no storage: the default results/tune, made absolute for the same machine
    assert sub.entrypoint == [
        "almm",
        "train",
        SMOKE,
        "--set",
        over,
        "--storage",
        str(ROOT / "results" / "tune"),
    ]
    cmd = sub.command()
    assert cmd[1:3] == ["job", "submit"] and cmd[cmd.index("--working-dir") + 1] == str(ROOT)
    assert cmd[cmd.index("--") + 1 :] == sub.entrypoint
    assert json.loads(cmd[cmd.index("--runtime-env-json") + 1]) == sub.runtime_env
    assert shlex.split(sub.shell_command())[:2] == [
        "RAY_AUTH_MODE=token",
        f"RAY_AUTH_TOKEN_PATH={root / 'auth_token'}",
    ]

    # a bad override fails here, before anything is uploaded
    with pytest.raises(ConfigError, match="env_runners.num_env_runner"):
        build_submission(
            SMOKE, "127.0.0.1:23401", overrides=["env_runners.num_env_runner=2"], cluster_dir=str(root)
        )

    # a remote cluster: auth from this machine's environment; relative storage refused
    token_file = tmp_path / "remote_token"
    token_file.write_text("remote-token")
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token_file))
    monkeypatch.setenv("ALMM_CLUSTER_DIR", str(tmp_path / "none"))
    remote = build_submission(SMOKE, "http://10.0.0.5:8265", storage="s3://bucket/almm", validate=False)
    assert remote.client_env == {"RAY_AUTH_MODE": "token"} and remote.token == "remote-token"
    assert remote.runtime_env["env_vars"]["RAY_AUTH_MODE"] == "token"  # exported here: the cluster's mode too
    monkeypatch.delenv(
        "RAY_AUTH_MODE"
    )  # a token file alone: the client sends it, the job keeps the nodes' mode
    inferred = build_submission(SMOKE, "http://10.0.0.5:8265", storage="/data/tune", validate=False)
    assert inferred.client_env == {"RAY_AUTH_MODE": "token"} and inferred.token == "remote-token"
    assert "RAY_AUTH_MODE" not in inferred.runtime_env["env_vars"]
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert remote.entrypoint[-2:] == ["--storage", "s3://bucket/almm"]
    capsys.readouterr()
    build_submission(SMOKE, "http://10.0.0.5:8265", validate=False)  # no storage anywhere: a loud warning
    assert "WARNING: storage 'results/tune' is relative" in capsys.readouterr().err
    with pytest.raises(ClusterError, match="relative"):
        build_submission(SMOKE, "http://10.0.0.5:8265", storage="results/tune", validate=False)
    with pytest.raises(ClusterError, match="outside the working dir"):
        build_submission(SMOKE, "http://10.0.0.5:8265", working_dir=tmp_path, validate=False, quiet=True)
    with pytest.raises(ClusterError, match="token stays"):
        build_submission(
            SMOKE, "http://10.0.0.5:8265", env_vars={"RAY_AUTH_TOKEN": "x"}, validate=False, quiet=True
        )
    with pytest.raises(ClusterError, match="Ray Client"):
        normalize_address("ray://10.0.0.5:10001")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterError, match="no token here"):
        build_submission(SMOKE, "http://10.0.0.5:8265", validate=False)
