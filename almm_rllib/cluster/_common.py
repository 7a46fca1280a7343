"""Shared by the local cluster and the job submitter: Ray 2.60 token auth, dashboard HTTP calls, the ``ray`` CLI.

Token authentication (new in Ray 2.52, on by default for ``ray.init()`` clusters in 2.60) is read from the
environment by every Ray process: ``RAY_AUTH_MODE`` (``token`` or ``disabled``) and the token from, in order,
``RAY_AUTH_TOKEN``, the file named by ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``. The dashboard's HTTP API
(jobs, state) expects ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

AUTH_MODE_VAR = "RAY_AUTH_MODE"
TOKEN_VAR = "RAY_AUTH_TOKEN"
TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"
AUTH_MODES = ("token", "disabled")


class ClusterError(RuntimeError):
    """Something about a cluster or a job that the user has to fix; the message says what."""


def default_token_path() -> pathlib.Path:
    return pathlib.Path.home() / ".ray" / "auth_token"


def read_token(env: Mapping[str, str] | None = None) -> str | None:
    """The token a Ray client with environment ``env`` would send (same precedence as Ray), or None."""
    env = os.environ if env is None else env
    if env.get(TOKEN_VAR, "").strip():
        return env[TOKEN_VAR].strip()
    paths = [pathlib.Path(env[TOKEN_PATH_VAR])] if env.get(TOKEN_PATH_VAR) else [default_token_path()]
    for p in paths:
        try:
            text = p.expanduser().read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return None


def auth_mode(env: Mapping[str, str] | None = None) -> str | None:
    """``RAY_AUTH_MODE`` of ``env`` if set, else ``token`` when a token is available, else None (Ray's default)."""
    env = os.environ if env is None else env
    mode = env.get(AUTH_MODE_VAR)
    if mode:
        mode = mode.strip().lower()
        if mode not in AUTH_MODES:
            raise ClusterError(
                f"{AUTH_MODE_VAR}={env[AUTH_MODE_VAR]!r}: expected one of {', '.join(AUTH_MODES)}"
            )
        return mode
    return "token" if read_token(env) else None


def http_json(url: str, *, token: str | None = None, timeout: float = 10.0) -> Any:
    """GET ``url`` (a dashboard endpoint) and decode its JSON; a token, if given, goes in the bearer header."""
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read().decode()
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:300]
        hint = ""
        if e.code in (401, 403):
            hint = (
                " (the cluster uses token authentication: export RAY_AUTH_MODE=token and make the cluster's "
                "token available, e.g. RAY_AUTH_TOKEN_PATH=<file>; see cluster/README.md)"
            )
        raise ClusterError(f"GET {url} answered HTTP {e.code}: {detail.strip()}{hint}") from None
    except (urllib.error.URLError, OSError) as e:
        raise ClusterError(f"GET {url} failed: {getattr(e, 'reason', e)}") from None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        raise ClusterError(f"GET {url} did not return JSON: {body[:200]!r}") from None


def ray_executable() -> str:
    """The ``ray`` CLI of this interpreter's environment (the venv's), else the one on the PATH."""
    here = pathlib.Path(sys.executable).parent / "ray"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("ray")
    if not found:
        raise ClusterError(
            "the `ray` command is not installed; run `make install` (ray[default,rllib,tune]==2.60.0)"
        )
    return found


def psutil():
    """The ``psutil`` module: installed on its own, or the copy Ray vendors (importing ray adds it to sys.path)."""
    try:
        return importlib.import_module("psutil")
    except ImportError:
        importlib.import_module("ray")  # puts ray/thirdparty_files, which holds psutil, on sys.path
        return importlib.import_module("psutil")
