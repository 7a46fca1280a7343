"""Submit an experiment to a Ray cluster as a Ray job, follow its logs, exit with the job's status.

    python -m almm_rllib.cluster.submit EXPERIMENT.yaml --address http://HOST:8265 [--set k=v ...] [--storage S]

runs (and prints)::

    ray job submit --address http://HOST:8265 --submission-id almm-<name>-<time> \\
        --runtime-env-json '{"excludes": [...], "env_vars": {"RAY_AUTH_MODE": "token", ...}}' --working-dir . \\
        -- almm train EXPERIMENT.yaml [--set k=v ...] [--storage S]

* The working dir (default: the current directory, i.e. the repository) is uploaded without ``results/``,
  ``.venv/``, ``.git/`` and caches; the job runs in its copy on the head node, where the experiment path is
  taken relative to it. Every node needs the project's dependencies (``pip install -e .``, see ``cluster/``);
  the uploaded copy of ``almm_rllib`` goes first on the job's PYTHONPATH, so code changes need no reinstall.
* The experiment is validated here first (a bad key fails in a second instead of after the upload).
* Token authentication (Ray 2.60): the ``ray`` CLI run here gets ``RAY_AUTH_MODE`` (``--auth``, else
  ``$RAY_AUTH_MODE``, else ``token`` when a token is available here; for the local cluster of
  :mod:`almm_rllib.cluster.local`, its mode and ``RAY_AUTH_TOKEN_PATH``). When the mode is known (the local
  cluster's, ``--auth`` or ``$RAY_AUTH_MODE``) the job gets it in its runtime env too, so the driver's
  ``ray.init`` authenticates with the token of the node it runs on; otherwise the driver inherits the head's
  mode. The token itself never goes into the runtime env (the dashboard shows runtime envs to anyone who can
  read jobs).
* Storage: Tune writes checkpoints and TensorBoard events to ``--storage`` or the experiment's ``storage``.
  A relative path would land in the job's temporary working dir, so for the local cluster it is made absolute
  here (same machine); for a remote cluster give an absolute path on the head node or a ``s3://``/``gs://`` URI.

Exit status: 0 SUCCEEDED, 1 FAILED, 3 STOPPED, 2 a usage or experiment error, 4 the job could not be
submitted or its status could not be read, 130 interrupted (the job keeps running; the message says how to
follow or stop it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import secrets
import shlex
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

from almm_rllib.cluster._common import (
    AUTH_MODE_VAR,
    AUTH_MODES,
    TOKEN_PATH_VAR,
    TOKEN_VAR,
    ClusterError,
    auth_mode,
    http_json,
    ray_executable,
    read_token,
)

#: Never uploaded with the working dir (gitignore-style patterns, relative to it).
DEFAULT_EXCLUDES = (
    "results/",
    ".venv/",
    ".git/",
    "__pycache__/",
    "*.pyc",
    "*.nbi",
    "*.nbc",
    ".pytest_cache/",
    ".ruff_cache/",
    ".hypothesis/",
    "*.egg-info/",
    ".ipynb_checkpoints/",
    "build/",
    "dist/",
)
EXIT_CODES = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 3}
EXIT_USAGE = 2
EXIT_UNKNOWN = 4
TERMINAL = frozenset(EXIT_CODES)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Submission:
    """Everything ``ray job submit`` needs; :meth:`command` is the exact command line."""

    address: str
    experiment: str  #: relative to working_dir, as the job sees it
    working_dir: str
    entrypoint: list[str]
    runtime_env: dict
    submission_id: str
    metadata: dict = field(default_factory=dict)
    client_env: dict = field(default_factory=dict)  #: added to the environment of the ray CLI run here
    token: str | None = None  #: for the dashboard HTTP calls made here; never sent to the job

    def command(self) -> list[str]:
        return [
            ray_executable(),
            "job",
            "submit",
            "--address",
            self.address,
            "--submission-id",
            self.submission_id,
            "--runtime-env-json",
            json.dumps(self.runtime_env, sort_keys=True),
            "--metadata-json",
            json.dumps(self.metadata, sort_keys=True),
            "--working-dir",
            self.working_dir,
            "--",
            *self.entrypoint,
        ]

    def shell_command(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.client_env.items())
        cmd = shlex.join(["ray", *self.command()[1:]])
        return f"{env} {cmd}" if env else cmd


def normalize_address(address: str) -> str:
    """``HOST:PORT`` or ``http(s)://HOST:PORT`` -> the dashboard URL without a trailing slash."""
    address = address.strip().rstrip("/")
    if not address:
        raise ClusterError("no cluster address: give --address http://HOST:8265 or set RAY_ADDRESS")
    if address.startswith("ray://"):
        raise ClusterError(
            f"{address} is a Ray Client address; job submission needs the dashboard: http://HOST:8265"
        )
    if "://" not in address:
        address = f"http://{address}"
    return address


def _local_cluster_state(address: str, cluster_dir: str | None) -> dict | None:
    """The state of the local cluster this address points at (``cluster_dir`` given, or the default one)."""
    from almm_rllib.cluster.local import DEFAULT_DIR, read_state

    if cluster_dir:
        state = read_state(cluster_dir)
        if state is None:
            raise ClusterError(f"--cluster-dir {cluster_dir}: no local cluster recorded there")
        return state
    state = read_state(os.environ.get("ALMM_CLUSTER_DIR", DEFAULT_DIR))
    if state is None:
        return None
    ours = urllib.parse.urlsplit(state["dashboard_url"])
    theirs = urllib.parse.urlsplit(address)
    if theirs.port == ours.port and (theirs.hostname in LOOPBACK or theirs.hostname == ours.hostname):
        return state
    return None


def _client_auth(
    address: str, auth: str | None, cluster_dir: str | None
) -> tuple[dict, str | None, bool, str | None]:
    """(env for the ray CLI, token for HTTP calls, whether the target is the local cluster, the auth mode the
    job should get: only a known one, i.e. the local cluster's, ``--auth`` or ``$RAY_AUTH_MODE``; a mode merely
    inferred from a token file here says nothing about the cluster)."""
    state = _local_cluster_state(address, cluster_dir)
    if state is not None:
        from almm_rllib.cluster.local import client_env, state_token

        env = client_env(state)
        return env, state_token(state), True, env[AUTH_MODE_VAR]
    known = auth or (auth_mode() if os.environ.get(AUTH_MODE_VAR) else None)
    mode = known or auth_mode()
    env = {AUTH_MODE_VAR: mode} if mode else {}
    token = read_token() if mode == "token" else None
    if mode == "token" and token is None:
        raise ClusterError(
            "RAY_AUTH_MODE=token but no token here: copy the cluster's token (`ray get-auth-token` on the head) "
            "to ~/.ray/auth_token, or set RAY_AUTH_TOKEN_PATH / RAY_AUTH_TOKEN"
        )
    return env, token, False, known


def _submission_id(name: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:40]
    return f"almm-{safe}-{stamp}-{secrets.token_hex(2)}"


def build_submission(
    experiment: str | os.PathLike,
    address: str,
    *,
    overrides: list[str] | tuple[str, ...] = (),
    storage: str | None = None,
    working_dir: str | os.PathLike = ".",
    excludes: list[str] | tuple[str, ...] = (),
    env_vars: dict[str, str] | None = None,
    submission_id: str | None = None,
    cluster_dir: str | None = None,
    auth: str | None = None,
    validate: bool = True,
    quiet: bool = False,
) -> Submission:
    """Check the experiment and work out the runtime env, the entrypoint and the client's auth settings."""
    address = normalize_address(address)
    wd, exp_path, rel = _experiment_paths(experiment, working_dir)
    spec = _experiment_spec(exp_path, overrides, validate)
    name = str(spec.get("name") or exp_path.stem)
    client_env, token, local, job_mode = _client_auth(address, auth, cluster_dir)
    storage = _job_storage(storage, spec, wd, local=local, quiet=quiet)
    entry = ["almm", "train", rel.as_posix()]
    for o in overrides:
        entry += ["--set", o]
    if storage:
        entry += ["--storage", storage]
    return Submission(
        address=address,
        experiment=rel.as_posix(),
        working_dir=str(wd),
        entrypoint=entry,
        runtime_env=_runtime_env(job_mode, env_vars, excludes),
        submission_id=submission_id or _submission_id(name),
        metadata={"almm_experiment": rel.as_posix(), "almm_overrides": " ".join(overrides)},
        client_env=client_env,
        token=token,
    )


def _experiment_paths(
    experiment: str | os.PathLike, working_dir: str | os.PathLike
) -> tuple[pathlib.Path, pathlib.Path, pathlib.PurePath]:
    """``(working dir, experiment file, the file relative to the working dir)``; refuses an experiment the
    job would not see."""
    wd = pathlib.Path(working_dir).expanduser().resolve()
    if not wd.is_dir():
        raise ClusterError(f"--working-dir {wd} is not a directory")
    exp_path = pathlib.Path(experiment).expanduser().resolve()
    if not exp_path.is_file():
        raise ClusterError(f"experiment file not found: {experiment}")
    try:
        rel = exp_path.relative_to(wd)
    except ValueError:
        raise ClusterError(
            f"the experiment {exp_path} is outside the working dir {wd}, so the job would not see it"
        ) from None
    return wd, exp_path, rel


def _experiment_spec(exp_path: pathlib.Path, overrides, validate: bool) -> dict:
    """The experiment's mapping: checked with its overrides (``validate``), or only read."""
    if validate:
        from almm_rllib.training.experiment import load_experiment

        return load_experiment(exp_path, list(overrides)).spec  # raises ExperimentError naming key and file
    import yaml

    return yaml.safe_load(exp_path.read_text()) or {}


def _job_storage(
    storage: str | None, spec: dict, wd: pathlib.Path, *, local: bool, quiet: bool
) -> str | None:
    """The ``--storage`` the job trains with. On the local cluster a relative path is resolved here (the
    experiment's against the working dir, ``--storage`` against the current dir); on a remote one a relative
    ``--storage`` is refused and a relative configured storage warned about."""
    if storage is None:
        from almm_rllib.training.train import DEFAULT_STORAGE

        configured = spec.get("storage") or DEFAULT_STORAGE
        if "://" not in configured and not os.path.isabs(os.path.expanduser(configured)):
            if local:
                return str((wd / configured).resolve())
            if not quiet:
                print(
                    f"almm submit: WARNING: storage {configured!r} is relative: checkpoints and TensorBoard events "
                    "would land in the job's temporary working dir on the head node. Give --storage with an "
                    "absolute path on the head or a s3:// / gs:// URI.",
                    file=sys.stderr,
                )
        return None
    if "://" not in storage and not os.path.isabs(os.path.expanduser(storage)):
        if not local:
            raise ClusterError(
                f"--storage {storage!r} is relative; on a remote cluster give an absolute path on the head node "
                "or a cloud URI (s3://..., gs://...)"
            )
        return str((pathlib.Path.cwd() / storage).resolve())
    return storage


def _runtime_env(job_mode, env_vars: dict[str, str] | None, excludes) -> dict:
    """The job's runtime env: files left out of the upload, and its environment variables (never the token)."""
    job_env = {"PYTHONUNBUFFERED": "1"}
    if job_mode:
        job_env[AUTH_MODE_VAR] = job_mode
    job_env.update(env_vars or {})
    for k in (TOKEN_VAR, TOKEN_PATH_VAR):
        if k in job_env:
            raise ClusterError(
                f"--env {k}: the token stays on the cluster's nodes, not in the job's runtime env"
            )
    return {"excludes": [*DEFAULT_EXCLUDES, *excludes], "env_vars": job_env}


def job_info(sub: Submission, timeout: float = 10.0) -> dict:
    """The Jobs REST API's record of the submission (``status``, ``message``, ...)."""
    return http_json(f"{sub.address}/api/jobs/{sub.submission_id}", token=sub.token, timeout=timeout)


def wait_for_status(sub: Submission, timeout: float = 120.0) -> dict:
    """Poll until the job is in a terminal state (or ``timeout``); returns the last record."""
    deadline = time.monotonic() + timeout
    info: dict = {}
    while True:
        try:
            info = job_info(sub)
        except ClusterError:
            if time.monotonic() > deadline:
                raise
        if info.get("status") in TERMINAL or time.monotonic() > deadline:
            return info
        time.sleep(2.0)


def run(sub: Submission, *, wait: bool = True, status_timeout: float = 120.0) -> int:
    """Run ``ray job submit`` (following the logs unless ``wait`` is False); the exit status as documented."""
    env = dict(os.environ)
    env.pop("RAY_API_SERVER_ADDRESS", None)
    if TOKEN_PATH_VAR in sub.client_env:
        env.pop(TOKEN_VAR, None)  # it would take precedence over the local cluster's token file
    env.update(sub.client_env)
    cmd = sub.command()
    if not wait:
        cmd.insert(cmd.index("--"), "--no-wait")
    print(f"almm submit: {sub.shell_command()}", flush=True)
    try:
        proc = subprocess.run(cmd, env=env)
    except KeyboardInterrupt:
        print(
            f"\nalmm submit: stopped following job {sub.submission_id}; it keeps running on the cluster.\n"
            f"  follow: ray job logs --follow --address {sub.address} {sub.submission_id}\n"
            f"  stop:   ray job stop --address {sub.address} {sub.submission_id}",
            file=sys.stderr,
        )
        return 130
    try:
        info = job_info(sub)
        if wait and info.get("status") not in TERMINAL:  # the log stream ended early: poll
            info = wait_for_status(sub, timeout=status_timeout)
    except ClusterError as e:
        print(
            f"almm submit: `ray job submit` exited with {proc.returncode}; job status unknown: {e}",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN
    status = info.get("status", "UNKNOWN")
    if not wait:
        print(f"almm submit: job {sub.submission_id} is {status}")
        return 0 if status not in ("FAILED", "STOPPED") else EXIT_CODES[status]
    msg = f"almm submit: job {sub.submission_id} {status}"
    if info.get("message") and status != "SUCCEEDED":
        msg += f": {info['message']}"
    print(msg, flush=True)
    return EXIT_CODES.get(status, EXIT_UNKNOWN)


def _parse_env(text: str) -> tuple[str, str]:
    key, sep, val = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, val


def build_parser() -> argparse.ArgumentParser:
    from almm_rllib.env.overrides import add_set_option

    ap = argparse.ArgumentParser(
        prog="python -m almm_rllib.cluster.submit",
        description="Submit `almm train EXPERIMENT` to a Ray cluster (ray job submit), follow the logs, exit "
        "with the job's status: 0 SUCCEEDED, 1 FAILED, 3 STOPPED, 2 bad arguments, 4 submission/status error.",
    )
    ap.add_argument(
        "experiment", help="experiment YAML inside the working dir, e.g. experiments/ppo_cluster.yaml"
    )
    ap.add_argument(
        "--address",
        default=None,
        help="the cluster's dashboard, http://HOST:8265 (default: $RAY_ADDRESS, else the local cluster)",
    )
    add_set_option(ap, "override a key of the YAML, passed on to `almm train --set` (repeatable)")
    ap.add_argument(
        "--storage",
        default=None,
        help="Tune storage on the cluster: an absolute path on the head node or a URI (s3://, gs://)",
    )
    ap.add_argument("--working-dir", default=".", help="uploaded as the job's working dir (default: .)")
    ap.add_argument(
        "--exclude",
        dest="excludes",
        action="append",
        default=[],
        metavar="PATTERN",
        help="also leave out of the upload (gitignore-style; repeatable)",
    )
    ap.add_argument(
        "--env",
        dest="env_vars",
        type=_parse_env,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment variable for the job (repeatable)",
    )
    ap.add_argument("--submission-id", default=None, help="job id (default: almm-<name>-<time>-<random>)")
    ap.add_argument(
        "--cluster-dir",
        default=None,
        help="a local cluster's --dir, to use its token (found automatically for the default dir)",
    )
    ap.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default=None,
        help="RAY_AUTH_MODE for the client and the job (default: $RAY_AUTH_MODE, else token when a "
        "token exists here)",
    )
    ap.add_argument("--no-wait", action="store_true", help="submit and return without following the logs")
    ap.add_argument("--no-validate", action="store_true", help="skip the local validation of the experiment")
    ap.add_argument("--dry-run", action="store_true", help="print the ray job submit command and exit")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from almm_rllib.core.config import ConfigError

    address = args.address or os.environ.get("RAY_ADDRESS")
    try:
        if not address:
            from almm_rllib.cluster.local import DEFAULT_DIR, read_state

            state = read_state(args.cluster_dir or os.environ.get("ALMM_CLUSTER_DIR", DEFAULT_DIR))
            if state is None:
                raise ClusterError(
                    "no --address and no RAY_ADDRESS, and no local cluster is running (make cluster-up)"
                )
            address = state["dashboard_url"]
        sub = build_submission(
            args.experiment,
            address,
            overrides=args.overrides,
            storage=args.storage,
            working_dir=args.working_dir,
            excludes=args.excludes,
            env_vars=dict(args.env_vars),
            submission_id=args.submission_id,
            cluster_dir=args.cluster_dir,
            auth=args.auth,
            validate=not args.no_validate,
        )
    except (ClusterError, ConfigError) as e:
        print(f"almm submit: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        print(sub.shell_command())
        return 0
    return run(sub, wait=not args.no_wait)


if __name__ == "__main__":
    sys.exit(main())
