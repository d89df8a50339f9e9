"""The operations kits under examples/ and the Dockerfile, checked against the real binary.

- examples/kubernetes: every manifest parses and matches the Kubernetes JSON schema (kubernetes-validate, strict,
  for 1.28 — the first release with the pod-index label — and the newest it knows); the wiring the docs rely on
  (probes and scrape annotations on the listener's port, the Secret's files and the state volume where q2api.yaml
  looks for them, ordinal → shard index, replicas = shard.count); the ConfigMap's q2api.yaml passes `q2api check`
  for every ordinal and fails for one past the end; each "pod" (the container's args, env and mounts emulated on
  this machine, credentials checked by a simulator) serves its own shard; a ConfigMap update delivered the way
  kubelet does it (a `..data` symlink swap) is reloaded live, and a broken one is refused while serving goes on;
  the pre-1.28 fallback derives the index from the hostname.
- examples/gitops: ci/check passes with the built binary and fails on a broken file or a missing secret
  placeholder; the workflow checks every change; deploy/systemd and deploy/kubernetes deploy a good file, refuse
  and roll back a bad one, against real `q2api serve` processes (ssh, systemctl and kubectl replaced by local
  stand-ins).
- Dockerfile: its build is scripts/release-build (run by scripts/test itself), builder and runtime share a Debian
  release, its defaults agree with the Kubernetes example, .dockerignore keeps what the build needs.

Needs only Q2API_BIN (the binary); every process it starts is its own, on free loopback ports.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from conftest import free_port, stop_process, wait_for_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
K8S = EXAMPLES / "kubernetes"
GITOPS = EXAMPLES / "gitops"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
MODEL = "claude-sonnet-4-5"


def q2api_bin() -> str:
    binary = os.environ.get("Q2API_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("Q2API_BIN must name the built q2api binary (scripts/test sets it)")
    return binary


def load_documents(path: Path) -> list[dict]:
    documents = [document for document in yaml.safe_load_all(path.read_text()) if document is not None]
    assert documents, f"{path} holds no YAML document"
    return documents


# ---------------------------------------------------------------------------------------------
# The Kubernetes manifests
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Manifests:
    kustomization: dict
    resources: list[dict]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [r for r in self.resources if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)]
        assert len(found) == 1, f"expected one {kind} {name or ''} in examples/kubernetes, found {len(found)}"
        return found[0]

    @property
    def statefulset(self) -> dict:
        return self.one("StatefulSet")

    @property
    def pod_spec(self) -> dict:
        return self.statefulset["spec"]["template"]["spec"]

    @property
    def container(self) -> dict:
        containers = self.pod_spec["containers"]
        assert len(containers) == 1, "the q2api pod has one container"
        return containers[0]

    def volume(self, name: str) -> dict:
        for volume in self.pod_spec.get("volumes", []):
            if volume["name"] == name:
                return volume
        for template in self.statefulset["spec"].get("volumeClaimTemplates", []):
            if template["metadata"]["name"] == name:
                return {"name": name, "persistentVolumeClaim": template}
        raise AssertionError(f"volume {name} is mounted but not defined")

    def mount_of(self, kind: str) -> tuple[dict, dict]:
        """The container's mount of the one volume of `kind` (configMap, secret, persistentVolumeClaim) and that volume."""
        found = [(m, self.volume(m["name"])) for m in self.container.get("volumeMounts", []) if kind in self.volume(m["name"])]
        assert len(found) == 1, f"expected one {kind} mount in the q2api container, found {len(found)}"
        return found[0]

    @property
    def configmap(self) -> dict:
        mount, volume = self.mount_of("configMap")
        return self.one("ConfigMap", volume["configMap"]["name"])

    @property
    def secret(self) -> dict:
        mount, volume = self.mount_of("secret")
        return self.one("Secret", volume["secret"]["secretName"])

    @property
    def config_path(self) -> str:
        args = self.container.get("args", [])
        assert "-c" in args, f"the container's args name no config file: {args}"
        return args[args.index("-c") + 1]

    @property
    def config_text(self) -> str:
        mount, _ = self.mount_of("configMap")
        directory, _, key = self.config_path.rpartition("/")
        assert directory == mount["mountPath"].rstrip("/"), f"-c {self.config_path} is not in the ConfigMap's mount {mount['mountPath']}"
        assert key in self.configmap["data"], f"the ConfigMap has no key {key}"
        return self.configmap["data"][key]

    @property
    def config(self) -> dict:
        return yaml.safe_load(self.config_text)

    def secret_values(self) -> dict[str, str]:
        secret = self.secret
        values = dict(secret.get("stringData", {}))
        for key, value in secret.get("data", {}).items():
            values[key] = base64.b64decode(value).decode()
        return values

    def port(self, name_or_number: str | int) -> int:
        if isinstance(name_or_number, int):
            return name_or_number
        for port in self.container.get("ports", []):
            if port.get("name") == name_or_number:
                return port["containerPort"]
        raise AssertionError(f"the container has no port named {name_or_number}")


def manifests() -> Manifests:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    resources: list[dict] = []
    for name in kustomization["resources"]:
        resources.extend(load_documents(K8S / name))
    return Manifests(kustomization, resources)


def listener_port(config: dict) -> int:
    address = config["listeners"][0]["address"]
    return int(address.rsplit(":", 1)[1])


def fnv1a64(text: str) -> int:
    value = 0xCBF29CE484222325
    for byte in text.encode():
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def accounts_of_shard(config: dict, index: int) -> list[dict]:
    count = int(config.get("shard", {}).get("count", 1))
    owned = []
    for account in config.get("accounts", []):
        shard = account.get("shard")
        shard = int(shard) if shard is not None else (fnv1a64(account["id"]) % count if count > 1 else 0)
        if shard == index:
            owned.append(account)
    return owned


def test_every_kubernetes_manifest_parses_and_is_listed_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    listed = set(kustomization["resources"])
    patches = {patch["path"] for patch in kustomization.get("patches", []) or []}
    # The patch for old clusters is offered (commented out), not applied.
    assert "shard-index-from-hostname.yaml" in (K8S / "kustomization.yaml").read_text()
    for path in sorted(K8S.glob("*.yaml")):
        for document in load_documents(path):
            required = {"apiVersion", "kind"} if path.name == "kustomization.yaml" else {"apiVersion", "kind", "metadata"}
            assert required <= document.keys(), f"{path.name}: not a Kubernetes object"
        if path.name not in ("kustomization.yaml", "shard-index-from-hostname.yaml"):
            assert path.name in listed, f"{path.name} is not in kustomization.yaml's resources"
    for name in listed | patches:
        assert (K8S / name).is_file(), f"kustomization.yaml names {name}, which does not exist"
    m = manifests()
    kinds = sorted(r["kind"] for r in m.resources)
    assert kinds == sorted(["Namespace", "ConfigMap", "Secret", "Service", "Service", "StatefulSet", "PodDisruptionBudget"]), kinds


@pytest.mark.parametrize("version", ["1.28.0", "latest"])
def test_kubernetes_manifests_match_the_schema(version: str) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is not installed (scripts/test installs it from PyPI)")
    if version == "latest":
        version = kubernetes_validate.latest_version()
    for document in manifests().resources:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{document['kind']}/{document['metadata']['name']} does not match Kubernetes {version}: {error.message} at {list(error.path)}")

    # The checker is real: an unknown field and a wrong type are refused.
    broken = json.loads(json.dumps(manifests().statefulset))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)
    broken = json.loads(json.dumps(manifests().statefulset))
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def test_statefulset_wiring_matches_q2api_yaml() -> None:
    m = manifests()
    sts, pod, container, config = m.statefulset, m.pod_spec, m.container, m.config
    port = listener_port(config)

    # Ordinal → shard: replicas = shard.count, index from the pod-index label.
    assert str(config["shard"]["index"]) == "${Q2API_SHARD_INDEX}"
    assert sts["spec"]["replicas"] == int(config["shard"]["count"])
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    env = {e["name"]: e for e in container["env"]}
    assert env["Q2API_SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{POD_INDEX_LABEL}']"

    # Every ${VAR} without a default in q2api.yaml is set in the container (secretKeyRef keys exist).
    secret_values = m.secret_values()
    for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", m.config_text):
        assert name in env, f"q2api.yaml uses ${{{name}}}, which the container does not set"
        ref = env[name].get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == m.secret["metadata"]["name"] and ref["key"] in secret_values, ref

    # Probes and scraping on the listener's port.
    assert listener_port(config) == m.port("http")
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert m.port(container[probe]["httpGet"]["port"]) == port, probe
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"

    # Services: headless for the StatefulSet, both select the pods and reach the listener.
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    headless = m.one("Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    for service in (r for r in m.resources if r["kind"] == "Service"):
        assert service["spec"]["selector"].items() <= labels.items(), service["metadata"]["name"]
        for service_port in service["spec"]["ports"]:
            assert m.port(service_port["targetPort"]) == port, service["metadata"]["name"]

    # The ConfigMap is mounted as a directory (subPath mounts never see updates).
    config_mount, _ = m.mount_of("configMap")
    assert "subPath" not in config_mount, "a subPath mount of the ConfigMap would never be updated: no live reload"

    # Credential files live where the Secret is mounted, under the Secret's keys (no renaming items).
    secret_mount, secret_volume = m.mount_of("secret")
    assert "items" not in secret_volume["secret"]
    secret_dir = secret_mount["mountPath"].rstrip("/")
    files = [(account["id"], key, value) for account in config["accounts"] for key, value in account.items() if key.endswith("_file")]
    assert len(files) == 3 * len(config["accounts"]), "every account reads its three credentials from files"
    for account_id, key, path in files:
        directory, _, name = path.rpartition("/")
        assert directory == secret_dir, f"{account_id}.{key}: {path} is not in the Secret's mount {secret_dir}"
        assert name in secret_values, f"{account_id}.{key}: the Secret has no key {name}"

    # The state directory is on the pod's own volume.
    state_mount, state_volume = m.mount_of("persistentVolumeClaim")
    assert str(config["state_dir"]).startswith(state_mount["mountPath"].rstrip("/") + "/")
    assert state_volume["persistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"]

    # Non-root, read-only root filesystem, resources sized from BENCHMARKS.md.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"]["memory"] == "128Mi"
    assert container["resources"]["limits"]["memory"] == "256Mi"
    # 30 s of stream drain after SIGTERM, plus the preStop pause, fit in the grace period.
    assert pod["terminationGracePeriodSeconds"] >= 30 + 5


# ---------------------------------------------------------------------------------------------
# Pods emulated on this machine: the container's args, env and mounts, kubelet-style volumes
# ---------------------------------------------------------------------------------------------


def atomic_write(directory: Path, files: dict[str, str], mode: int = 0o644) -> None:
    """Writes `files` into `directory` the way kubelet updates ConfigMap and Secret volumes: a new timestamped
    folder, then an atomic rename of the `..data` symlink, with each visible name a symlink through `..data`."""
    directory.mkdir(parents=True, exist_ok=True)
    fresh = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    fresh.mkdir()
    for name, content in files.items():
        (fresh / name).write_text(content)
        (fresh / name).chmod(mode)
    old = os.readlink(directory / "..data") if (directory / "..data").is_symlink() else None
    staging = directory / "..data_tmp"
    os.symlink(fresh.name, staging)
    os.replace(staging, directory / "..data")
    for name in files:
        if not (directory / name).is_symlink():
            os.symlink(f"..data/{name}", directory / name)
    if old:
        shutil.rmtree(directory / old)


@dataclasses.dataclass
class Pod:
    """One pod of the StatefulSet, emulated: each volume mount is a local folder."""

    ordinal: int
    root: Path
    mounts: dict[str, Path]  # mountPath -> local folder
    env: dict[str, str]
    config_file: Path

    def local(self, text: str) -> str:
        """`text` with every mount path replaced by its local folder, in one pass (longest first)."""
        paths = sorted((path.rstrip("/") for path in self.mounts), key=len, reverse=True)
        pattern = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, paths)) + r")(?=/|[^\w.-]|$)")
        by_path = {path.rstrip("/"): str(local) for path, local in self.mounts.items()}
        return pattern.sub(lambda match: by_path[match.group(1)], text)

    def write_config(self, text: str) -> None:
        atomic_write(self.config_file.parent, {self.config_file.name: self.local(text)})


def make_pod(m: Manifests, ordinal: int, root: Path, config_text: str | None = None) -> Pod:
    root.mkdir(parents=True, exist_ok=True)
    mounts: dict[str, Path] = {}
    for index, mount in enumerate(m.container["volumeMounts"]):
        mounts[mount["mountPath"]] = root / f"volume-{index}-{mount['name']}"
    secret_values = m.secret_values()
    env: dict[str, str] = {"HOSTNAME": f"{m.statefulset['metadata']['name']}-{ordinal}"}
    for item in m.container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif "fieldRef" in item.get("valueFrom", {}):
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{POD_INDEX_LABEL}']", item
            env[item["name"]] = str(ordinal)
        elif "secretKeyRef" in item.get("valueFrom", {}):
            env[item["name"]] = secret_values[item["valueFrom"]["secretKeyRef"]["key"]]
        else:
            raise AssertionError(f"unexpected env source {item}")
    pod = Pod(ordinal, root, mounts, env, Path())
    pod.config_file = Path(pod.local(m.config_path))
    text = config_text if config_text is not None else m.config_text
    for mount in m.container["volumeMounts"]:
        volume = m.volume(mount["name"])
        local = mounts[mount["mountPath"]]
        if "configMap" in volume:
            data = dict(m.configmap["data"])
            data[pod.config_file.name] = pod.local(text)
            atomic_write(local, data)
        elif "secret" in volume:
            atomic_write(local, secret_values, mode=volume["secret"].get("defaultMode", 0o644))
        else:
            local.mkdir(parents=True, exist_ok=True)
    # kubelet's files are symlinks into ..data; q2api reads through them.
    assert pod.config_file.is_symlink()
    return pod


def run_env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("Q2API_") and k != "CREDENTIALS_DIRECTORY"}
    base.update(extra)
    return base


def check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([q2api_bin(), "check", "-c", str(config)], env=run_env(env), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("ordinal", [0, 1, 2])
def test_configmap_q2api_yaml_passes_check_in_every_pod(ordinal: int, tmp_path: Path) -> None:
    m = manifests()
    pod = make_pod(m, ordinal, tmp_path)
    result = check(pod.config_file, pod.env)
    assert result.returncode == 0 and result.stdout.splitlines()[:1] == ["ok"], result.stdout + result.stderr


def test_configmap_q2api_yaml_refuses_an_ordinal_past_shard_count(tmp_path: Path) -> None:
    m = manifests()
    pod = make_pod(m, m.statefulset["spec"]["replicas"], tmp_path)
    result = check(pod.config_file, pod.env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shard.index" in result.stdout + result.stderr
    # And without the Secret's files, the *_file keys are errors: the check reads what the pod mounts.
    for path in (pod.mounts[m.mount_of("secret")[0]["mountPath"]]).glob("*-refresh-token"):
        path.unlink()
    pod.env["Q2API_SHARD_INDEX"] = "0"
    result = check(pod.config_file, pod.env)
    assert result.returncode == 1 and "refresh_token_file" in result.stdout + result.stderr, result.stdout + result.stderr


class Processes:
    """Processes a test starts; stopped (SIGTERM, then SIGKILL) at teardown, logs printed on failure."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], ready_url: str) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, env=run_env(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.started.append((process, log))
        wait_for_url(ready_url, process, log)
        return process

    def simulator(self, name: str, *args: str) -> str:
        port = free_port()
        self.start(name, [q2api_bin(), "simulate", "--port", str(port), *args], {}, f"http://127.0.0.1:{port}/__sim/state")
        return f"http://127.0.0.1:{port}"

    def logs(self) -> str:
        return "\n".join(f"----- {log.name} -----\n{log.read_text(errors='replace')[-8000:]}" for _, log in self.started)


@pytest.fixture
def processes(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    yield procs
    for process, _ in reversed(procs.started):
        stop_process(process, timeout=10)
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(procs.logs())


def for_this_machine(text: str, port: int, sim_url: str, listen: str) -> str:
    """The pod's q2api.yaml as it must run here: its listener on a free loopback port, the upstream a simulator."""
    text, count = re.subn(rf"(address:\s*){re.escape(listen)}", rf"\g<1>127.0.0.1:{port}", text)
    assert count == 1, f"no listener {listen} to rewrite"
    assert not re.search(r"^upstream:", text, re.M), "the example has an upstream section: adapt the test"
    return text + f"\nupstream:\n  endpoint: {sim_url}/\n  oidc_endpoint: {sim_url}/\n"


def health(url: str) -> dict:
    response = httpx.get(url + "/healthz", timeout=5, trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()


def wait_until(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.2)


def ask(url: str, key: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "[[sim:text:pod ok]]"}]},
        timeout=30,
        trust_env=False,
    )


def start_pod(m: Manifests, ordinal: int, tmp: Path, processes: Processes) -> tuple[Pod, str, str]:
    """Starts pod `ordinal` against a simulator that accepts only its own shard's credentials."""
    config = m.config
    owned = accounts_of_shard(config, ordinal)
    assert len(owned) == 1, f"shard {ordinal} should own one account, owns {[a['id'] for a in owned]}"
    secrets = m.secret_values()
    account = owned[0]
    credential = {key: secrets[account[f"{key}_file"].rpartition("/")[2]] for key in ("client_id", "client_secret", "refresh_token")}
    sim_url = processes.simulator(
        f"simulate-{ordinal}",
        "--client-id", credential["client_id"], "--client-secret", credential["client_secret"],
        "--refresh-token", credential["refresh_token"],
    )
    port = free_port()
    text = for_this_machine(m.config_text, port, sim_url, config["listeners"][0]["address"])
    pod = make_pod(m, ordinal, tmp / f"pod-{ordinal}", text)
    args = [pod.local(arg) for arg in m.container["args"]]
    url = f"http://127.0.0.1:{port}"
    liveness = m.container["livenessProbe"]["httpGet"]["path"]
    processes.start(f"pod-{ordinal}", [q2api_bin(), *args], pod.env, url + liveness)
    return pod, url, text


@pytest.mark.parametrize("ordinal", [0, 1, 2])
def test_each_pod_serves_its_own_shard(ordinal: int, tmp_path: Path, processes: Processes) -> None:
    m = manifests()
    pod, url, _ = start_pod(m, ordinal, tmp_path, processes)
    body = health(url)
    assert body["shard"] == {"index": ordinal, "count": m.statefulset["spec"]["replicas"]}
    expected = [account["id"] for account in accounts_of_shard(m.config, ordinal)]
    assert [item["id"] for item in body["accounts"]["items"]] == expected

    # The simulator accepts only this account's credentials: a reply proves the Secret's files were read.
    response = ask(url, m.secret_values()["api-key"])
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "pod ok"
    assert ask(url, "sk-wrong").status_code == 401

    readiness = m.container["readinessProbe"]["httpGet"]["path"]
    assert httpx.get(url + readiness, timeout=5, trust_env=False).status_code == 200
    metrics_path = m.statefulset["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    metrics = httpx.get(url + metrics_path, timeout=5, trust_env=False)
    assert metrics.status_code == 200 and "q2api_config_generation" in metrics.text

    # The state directory is created inside the pod's volume, private to q2api.
    state_dir = Path(pod.local(str(m.config["state_dir"])))
    wait_until(lambda: state_dir.is_dir(), "q2api created its state directory", timeout=10)
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700


def test_a_configmap_update_is_reloaded_live_and_a_broken_one_refused(tmp_path: Path, processes: Processes) -> None:
    m = manifests()
    pod, url, text = start_pod(m, 0, tmp_path, processes)
    assert health(url)["config"]["generation"] == 1
    key = m.secret_values()["api-key"]

    # kubelet's update: a new ..data folder swapped in by rename. q2api polls the content and applies it.
    changed = text.replace("level: info", "level: debug")
    assert changed != text
    pod.write_config(changed)
    wait_until(lambda: health(url)["config"]["generation"] == 2, "the swapped ConfigMap was applied")
    assert health(url)["config"]["last_reload_error"] is None
    assert ask(url, key).status_code == 200

    # A broken file is refused: the old config keeps serving, the error shows on /healthz.
    pod.write_config(changed.replace("level: debug", "level: loud"))
    wait_until(lambda: health(url)["config"]["last_reload_error"] is not None, "the broken ConfigMap was refused")
    body = health(url)
    assert body["config"]["generation"] == 2
    assert "log.level" in body["config"]["last_reload_error"]
    assert ask(url, key).status_code == 200


def test_pre_1_28_fallback_takes_the_shard_index_from_the_hostname(tmp_path: Path) -> None:
    m = manifests()
    patch = load_documents(K8S / "shard-index-from-hostname.yaml")[0]
    assert patch["kind"] == "StatefulSet" and patch["metadata"]["name"] == m.statefulset["metadata"]["name"]
    (container,) = patch["spec"]["template"]["spec"]["containers"]
    assert container["name"] == m.container["name"]
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "q2api").write_text('#!/bin/sh\necho "$Q2API_SHARD_INDEX|$*"\n')
    (stub / "q2api").chmod(0o755)
    # A StatefulSet renamed to something with a dash of its own still yields the ordinal.
    for hostname, index in (("q2api-0", "0"), ("q2api-2", "2"), ("q2api-12", "12"), ("team-q2api-7", "7")):
        result = subprocess.run(
            [*container["command"], *container["args"]],
            env={"PATH": f"{stub}:/usr/bin:/bin", "HOSTNAME": hostname},
            capture_output=True, text=True, timeout=10,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"{index}|{' '.join(m.container['args'])}"


def test_kustomize_renders_the_kit(tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (the schema test covers the manifests)")
    rendered = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    namespace = manifests().kustomization["namespace"]
    assert all(d["metadata"].get("namespace") == namespace for d in documents if d["kind"] != "Namespace")
    sts = next(d for d in documents if d["kind"] == "StatefulSet")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].startswith("registry.example.com/q2api:")

    copy = tmp_path / "kubernetes"
    shutil.copytree(K8S, copy)
    text = (copy / "kustomization.yaml").read_text()
    enabled = text.replace("# patches:", "patches:").replace("#   - path:", "  - path:")
    assert enabled != text
    (copy / "kustomization.yaml").write_text(enabled)
    rendered = subprocess.run([kubectl, "kustomize", str(copy)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    sts = next(d for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"] and "HOSTNAME" in container["args"][0]
    assert container["volumeMounts"] == manifests().container["volumeMounts"]


# ---------------------------------------------------------------------------------------------
# The gitops kit
# ---------------------------------------------------------------------------------------------


def gitops_copy(tmp: Path) -> Path:
    copy = tmp / "repo"
    shutil.copytree(GITOPS, copy, symlinks=True)
    return copy


def test_gitops_ci_check_passes_with_the_built_binary() -> None:
    result = subprocess.run([str(GITOPS / "ci/check")], env=run_env({"Q2API_BIN": q2api_bin()}), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    count = int(yaml.safe_load((GITOPS / "q2api.yaml").read_text())["shard"]["count"])
    assert result.stdout.splitlines() == [f"shard {i} of {count}: ok" for i in range(count)]


def test_gitops_ci_check_fails_on_a_broken_file_and_on_a_missing_secret(tmp_path: Path) -> None:
    repo = gitops_copy(tmp_path)
    good = (repo / "q2api.yaml").read_text()
    (repo / "q2api.yaml").write_text(good.replace("strategy: least_inflight", "stratgy: least_inflight"))
    result = subprocess.run([str(repo / "ci/check")], env=run_env({"Q2API_BIN": q2api_bin()}), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert re.search(r"q2api\.yaml:\d+:\d+: balancing\.stratgy: .*did you mean 'strategy'", result.stderr), result.stderr

    (repo / "q2api.yaml").write_text(good)
    (repo / "ci/placeholder-secrets/team-b-refresh-token").unlink()
    result = subprocess.run([str(repo / "ci/check")], env=run_env({"Q2API_BIN": q2api_bin()}), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "refresh_token_file" in result.stderr, result.stdout + result.stderr


def test_gitops_secrets_have_placeholders_and_systemd_credentials() -> None:
    config = yaml.safe_load((GITOPS / "q2api.yaml").read_text())
    credentials = (GITOPS / "systemd/credentials.conf").read_text()
    loaded = set(re.findall(r"^LoadCredential=([^:\s]+):", credentials, re.M))
    names = set()
    for account in config["accounts"]:
        for key, value in account.items():
            if key.endswith("_file"):
                assert value.startswith("${CREDENTIALS_DIRECTORY:-/run/secrets/q2api}/"), value
                names.add(value.rpartition("/")[2])
    assert names, "the gitops q2api.yaml reads no credential file"
    assert names == {p.name for p in (GITOPS / "ci/placeholder-secrets").iterdir()}
    assert names == loaded


def workflow() -> dict:
    documents = load_documents(GITOPS / ".github/workflows/q2api.yml")
    assert len(documents) == 1
    return documents[0]


def test_gitops_workflow_checks_every_change_and_deploys_only_main() -> None:
    wf = workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    for event in ("pull_request", "push"):
        assert "q2api.yaml" in triggers[event]["paths"], event
    assert triggers["push"]["branches"] == ["main"]
    jobs = wf["jobs"]
    check_runs = [step.get("run", "") for step in jobs["check"]["steps"]]
    assert any(run.strip() == "ci/check" for run in check_runs), check_runs
    deploys = {name: job for name, job in jobs.items() if name.startswith("deploy")}
    assert set(deploys) == {"deploy-systemd", "deploy-kubernetes"}
    for name, job in deploys.items():
        assert job["needs"] == "check", name
        assert "refs/heads/main" in job["if"] and "pull_request" in job["if"], name
    runs = "\n".join(step.get("run", "") for job in jobs.values() for step in job["steps"])
    assert "deploy/systemd" in runs and "deploy/kubernetes" in runs
    for job in jobs.values():
        for step in job["steps"]:
            if "run" in step:
                # ${{ }} expressions are substituted by GitHub before bash sees the script.
                script = re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
                result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
                assert result.returncode == 0, f"{step.get('name')}: {result.stderr}"
    for script in ("ci/check", "deploy/systemd", "deploy/kubernetes"):
        path = GITOPS / script
        assert os.access(path, os.X_OK), f"{script} is not executable"
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0, script


def write_stub(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def test_gitops_deploy_systemd_reloads_and_rolls_back(tmp_path: Path, processes: Processes) -> None:
    repo = gitops_copy(tmp_path)
    sim_url = processes.simulator("simulate")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    host_dir = tmp_path / "host-etc-q2api"
    host_dir.mkdir()
    state = tmp_path / "host-state"

    def for_host(text: str) -> str:
        return for_this_machine(text, port, sim_url, "0.0.0.0:8080").replace("/var/lib/q2api/state", str(state))

    live = host_dir / "q2api.yaml"
    original = (GITOPS / "q2api.yaml").read_text()
    live.write_text(for_host(original))
    env = {"Q2API_SHARD_INDEX": "0", "Q2API_KEY": "sk-host", "Q2API_ADMIN_KEY": "adm-host", "CREDENTIALS_DIRECTORY": str(repo / "ci/placeholder-secrets")}
    server = processes.start("host-serve", [q2api_bin(), "serve", "-c", str(live)], env, url + "/healthz")

    stubs = tmp_path / "stubs"
    stubs.mkdir()
    # ssh HOST COMMAND...: run the command here. systemctl reload q2api: SIGHUP, as notify-reload does.
    write_stub(stubs / "ssh", '#!/usr/bin/env bash\necho "ssh $*" >>"$STUB_LOG"\nshift\nexec bash -c "$*"\n')
    write_stub(stubs / "systemctl", f'#!/usr/bin/env bash\necho "systemctl $*" >>"$STUB_LOG"\n[[ "$*" == "reload q2api" ]] && kill -HUP {server.pid}\n')
    log = tmp_path / "stub.log"
    deploy_env = run_env({
        "PATH": f"{stubs}:{os.environ['PATH']}", "STUB_LOG": str(log),
        "Q2API_REMOTE_CONFIG": str(live), "Q2API_HEALTH_URL": url + "/healthz", "RELOAD_TIMEOUT": "30",
    })

    def deploy(text: str) -> subprocess.CompletedProcess:
        (repo / "q2api.yaml").write_text(for_host(text))
        return subprocess.run([str(repo / "deploy/systemd"), "host-a"], env=deploy_env, capture_output=True, text=True, timeout=120)

    # A good change: copied, reloaded by SIGHUP, seen applied on /healthz.
    good = original.replace("level: info", "level: debug")
    result = deploy(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied (config generation" in result.stdout
    assert live.read_text() == for_host(good)
    assert "systemctl reload q2api" in log.read_text()
    assert health(url)["config"]["last_reload_error"] is None
    generation = health(url)["config"]["generation"]

    # The same file again: nothing to do.
    result = deploy(good)
    assert result.returncode == 0 and "unchanged" in result.stdout, result.stdout + result.stderr

    # A file q2api refuses: rejected, the previous file restored and reloaded, the deploy fails.
    result = deploy(good.replace("level: debug", "level: loud"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rejected" in result.stderr and "log.level" in result.stderr, result.stderr
    assert live.read_text() == for_host(good)
    wait_until(lambda: health(url)["config"]["last_reload_error"] is None, "the restored file was reloaded")
    assert health(url)["config"]["generation"] > generation
    assert server.poll() is None


KUBECTL_STUB = textwrap.dedent(
    """\
    #!{python}
    # kubectl for tests: an API server and kubelet in one. Pods are real `q2api serve` processes whose ConfigMap
    # volume is a folder each; `apply` swaps the file into every folder the way kubelet does.
    import json, os, re, shutil, sys, time, urllib.request
    import yaml

    state = json.loads(os.environ["STUB_KUBECTL"])
    args = sys.argv[1:]
    with open(state["log"], "a") as log:
        log.write("kubectl " + " ".join(args) + "\\n")
    if args[:1] == ["--namespace"]:
        args = args[2:]
    current_path = state["current"]

    def atomic_write(directory, name, content):
        fresh = os.path.join(directory, "..%d" % time.monotonic_ns())
        os.mkdir(fresh)
        with open(os.path.join(fresh, name), "w") as f:
            f.write(content)
        old = os.readlink(os.path.join(directory, "..data"))
        os.symlink(os.path.basename(fresh), os.path.join(directory, "..data_tmp"))
        os.replace(os.path.join(directory, "..data_tmp"), os.path.join(directory, "..data"))
        shutil.rmtree(os.path.join(directory, old))

    if args[:2] == ["get", "statefulset"]:
        print(len(state["pods"]), end="")
    elif args[:2] == ["get", "configmap"]:
        print(open(current_path).read(), end="")
    elif args[:2] == ["get", "--raw"]:
        match = re.search(r"/pods/[^/]*-(\\d+):(\\d+)/proxy(/.*)$", args[2])
        pod = state["pods"][int(match.group(1))]
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (pod["port"], match.group(3)), timeout=5) as response:
                print(response.read().decode(), end="")
        except Exception as error:
            print("Error from server: %s" % error, file=sys.stderr)
            sys.exit(1)
    elif args[:2] == ["create", "configmap"]:
        source = next(a for a in args if a.startswith("--from-file="))
        key, _, path = source[len("--from-file="):].partition("=")
        print(yaml.safe_dump({{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": args[2]}}, "data": {{key: open(path).read()}}}}))
    elif args[:1] == ["label"]:
        document = yaml.safe_load(sys.stdin)
        name, _, value = next(a for a in args[1:] if "=" in a and not a.startswith("-")).partition("=")
        document["metadata"].setdefault("labels", {{}})[name] = value
        print(yaml.safe_dump(document))
    elif args[:2] == ["apply", "-f"]:
        document = yaml.safe_load(sys.stdin)
        text = document["data"]["q2api.yaml"]
        if open(current_path).read() == text:
            print("configmap/%s unchanged" % document["metadata"]["name"])
        else:
            with open(current_path, "w") as f:
                f.write(text)
            for pod in state["pods"]:
                content = text
                for old, new in pod["rewrite"]:
                    content = content.replace(old, new)
                atomic_write(pod["dir"], "q2api.yaml", content)
            print("configmap/%s configured" % document["metadata"]["name"])
    else:
        print("kubectl stub: unexpected %s" % args, file=sys.stderr)
        sys.exit(2)
    """
)


def test_gitops_deploy_kubernetes_waits_for_every_pod_and_rolls_back(tmp_path: Path, processes: Processes) -> None:
    repo = gitops_copy(tmp_path)
    original = (GITOPS / "q2api.yaml").read_text()
    count = int(yaml.safe_load(original)["shard"]["count"])
    sim_url = processes.simulator("simulate")
    current = tmp_path / "configmap.yaml"
    current.write_text(original)
    pods = []
    for index in range(count):
        port = free_port()
        directory = tmp_path / f"pod-{index}-config"
        # What differs on this machine from a cluster: one loopback port per pod, the simulator upstream, a state folder.
        rewrite = [
            ["0.0.0.0:8080", f"127.0.0.1:{port}"],
            ["/var/lib/q2api/state", str(tmp_path / f"pod-{index}-state")],
            ["\nlog:\n", f"\nupstream:\n  endpoint: {sim_url}/\n  oidc_endpoint: {sim_url}/\nlog:\n"],
        ]
        text = original
        for old, new in rewrite:
            assert old in text, old
            text = text.replace(old, new)
        atomic_write(directory, {"q2api.yaml": text})
        env = {"Q2API_SHARD_INDEX": str(index), "Q2API_KEY": "sk-pod", "Q2API_ADMIN_KEY": "adm-pod", "CREDENTIALS_DIRECTORY": str(repo / "ci/placeholder-secrets")}
        processes.start(f"pod-{index}", [q2api_bin(), "serve", "-c", str(directory / "q2api.yaml")], env, f"http://127.0.0.1:{port}/healthz")
        pods.append({"port": port, "dir": str(directory), "rewrite": rewrite})

    stubs = tmp_path / "stubs"
    stubs.mkdir()
    write_stub(stubs / "kubectl", KUBECTL_STUB.format(python=sys.executable))
    log = tmp_path / "kubectl.log"
    deploy_env = run_env({
        "PATH": f"{stubs}:{os.environ['PATH']}", "RELOAD_TIMEOUT": "60",
        "STUB_KUBECTL": json.dumps({"pods": pods, "current": str(current), "log": str(log)}),
    })

    def deploy(text: str) -> subprocess.CompletedProcess:
        (repo / "q2api.yaml").write_text(text)
        return subprocess.run([str(repo / "deploy/kubernetes")], env=deploy_env, capture_output=True, text=True, timeout=180)

    def generation(pod: dict) -> int:
        return health(f"http://127.0.0.1:{pod['port']}")["config"]["generation"]

    good = original.replace("level: info", "level: debug")
    result = deploy(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configmap/q2api-config configured" in result.stdout
    for index, pod in enumerate(pods):
        assert f"q2api-{index}: applied" in result.stdout
        assert generation(pod) == 2
    assert "kubectl --namespace q2api apply -f -" in log.read_text()

    result = deploy(good)
    assert result.returncode == 0 and "unchanged" in result.stdout, result.stdout + result.stderr

    # Refused by the pods: the previous ConfigMap goes back, every pod ends on the good file again.
    result = deploy(good.replace("level: debug", "level: loud"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rejected the file" in result.stderr and "log.level" in result.stderr, result.stderr
    assert current.read_text() == good
    for pod in pods:
        url = f"http://127.0.0.1:{pod['port']}"
        wait_until(lambda: health(url)["config"]["last_reload_error"] is None, "the restored ConfigMap was reloaded")
        assert "level: debug" in (Path(pod["dir"]) / "q2api.yaml").read_text()


# ---------------------------------------------------------------------------------------------
# The Dockerfile
# ---------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_builds_with_scripts_release_build_and_matches_the_kubernetes_example() -> None:
    instructions = dockerfile_instructions()
    args = dict(rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest)
    stages = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert len(stages) == 2, stages
    builder = re.sub(r"\$\{(\w+)\}", lambda match: args[match.group(1)], stages[0]).split()[0]
    runtime = re.sub(r"\$\{(\w+)\}", lambda match: args[match.group(1)], stages[1]).split()[0]

    # The builder's Swift reads Package.swift; builder and runtime are the same Debian release (glibc).
    match = re.fullmatch(r"swift:(\d+)\.(\d+)-(\w+)", builder)
    assert match, builder
    tools = re.search(r"swift-tools-version:\s*(\d+)\.(\d+)", (ROOT / "Package.swift").read_text())
    assert (int(match.group(1)), int(match.group(2))) >= (int(tools.group(1)), int(tools.group(2)))
    assert runtime == f"debian:{match.group(3)}-slim", runtime

    # The build is scripts/release-build, which scripts/test runs outside Docker.
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    build = [run for run in runs if "scripts/release-build" in run]
    assert len(build) == 1, runs
    install_dir = re.search(r"--install\s+(\S+)", build[0]).group(1)
    assert ("COPY", f"--from=build {install_dir}/q2api /usr/local/bin/q2api") in instructions
    assert os.access(ROOT / "scripts/release-build", os.X_OK)
    assert "--static-swift-stdlib" in (ROOT / "scripts/release-build").read_text()
    assert "scripts/release-build" in (ROOT / "scripts/test").read_text(), "scripts/test must run scripts/release-build"

    # Its defaults agree with the Kubernetes example: command, user, state volume, port.
    m = manifests()
    entrypoint = json.loads(next(rest for keyword, rest in instructions if keyword == "ENTRYPOINT"))
    command = json.loads(next(rest for keyword, rest in instructions if keyword == "CMD"))
    assert entrypoint == ["/usr/local/bin/q2api"]
    assert command == ["serve", "-c", "/etc/q2api/q2api.yaml"] == m.container["args"]
    user = next(rest for keyword, rest in instructions if keyword == "USER")
    assert user == f"{m.pod_spec['securityContext']['runAsUser']}:{m.pod_spec['securityContext']['runAsGroup']}"
    volumes = json.loads(next(rest for keyword, rest in instructions if keyword == "VOLUME"))
    assert volumes == [m.mount_of("persistentVolumeClaim")[0]["mountPath"]]
    assert next(rest for keyword, rest in instructions if keyword == "EXPOSE") == str(listener_port(m.config))


def dockerignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        hit = any(fnmatch(prefix, pattern) for prefix in prefixes)
        if pattern.startswith("**/"):
            hit = hit or any(fnmatch(part, pattern[3:]) for part in parts)
        if hit:
            ignored = not negate
    return ignored


def test_dockerignore_keeps_the_sources_and_drops_build_products() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    needed = ["Package.swift", "Sources/q2api/Q2API.swift", "Tests/ProxyConfigTests", "scripts/release-build", "q2api.yaml"]
    # Every file SwiftPM reads (sources, resources, test targets) must reach the build context.
    tracked = subprocess.run(["git", "ls-files", "Sources", "Tests"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0:
        needed += [path for path in tracked.stdout.splitlines() if "__pycache__" not in path]
    for path in needed:
        assert not dockerignored(path, patterns), path
    for dropped in (".build/release/q2api", ".build-fuzz/x", ".venv/bin/python", ".git/HEAD", "Tests/Conformance/__pycache__/x.pyc", "state/main.jsonl"):
        assert dockerignored(dropped, patterns), dropped


# ---------------------------------------------------------------------------------------------
# examples/simulator.yaml (the README's quick start)
# ---------------------------------------------------------------------------------------------


def test_simulator_yaml_quick_start_answers(tmp_path: Path, processes: Processes) -> None:
    text = (EXAMPLES / "simulator.yaml").read_text()
    result = check(EXAMPLES / "simulator.yaml", {})
    assert result.returncode == 0 and result.stdout.splitlines()[:1] == ["ok"], result.stdout + result.stderr
    sim_url = processes.simulator("simulate")
    port = free_port()
    # Only the addresses differ from the quick start (8080 and 8999 may be taken here).
    text, listeners = re.subn(r"127\.0\.0\.1:8080", f"127.0.0.1:{port}", text)
    text, upstreams = re.subn(r"http://127\.0\.0\.1:8999", sim_url, text)
    assert listeners == 1 and upstreams == 2, (listeners, upstreams)
    config = tmp_path / "simulator.yaml"
    config.write_text(text)
    url = f"http://127.0.0.1:{port}"
    processes.start("serve", [q2api_bin(), "serve", "-c", str(config)], {}, url + "/healthz")
    response = ask(url, "sk-local-test")
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "pod ok"
