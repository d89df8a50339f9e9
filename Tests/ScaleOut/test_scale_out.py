"""Issue #8: several q2api instances behind nginx (examples/nginx/q2api.conf), one YAML, shard 0..2 of 3.

The tests run in file order on one rig (conftest.py) and build on each other:

1. ownership: every account is loaded, served and refreshed by exactly one instance;
2. sessions: 30 Claude Code sessions x 5 requests through nginx, each session on one instance;
3. kill: SIGKILL of the busiest instance under load; nginx moves its sessions, nothing new fails;
4. restart: the instance comes back from its state directory with nothing lost and no extra refresh,
   and nginx gives it its sessions back.

Which instance answered a request is known twice over, without any help from q2api: nginx logs the
upstream it used ($upstream_addr) with q2api's `request-id` response header, and each instance's own
access log (JSON) has that request id with the account that served it.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import threading
import time
import uuid

import httpx
import pytest
from scale_out_rig import (
    ADMIN_KEY,
    API_KEY,
    EXPECTED_OWNERS,
    EXPLICIT_SHARDS,
    HTTP_TIMEOUT,
    MODEL,
    SHARD_COUNT,
    Cluster,
    fnv1a64,
    metric,
    owned,
    owner,
    seed_token,
)

SESSIONS = 30
REQUESTS_PER_SESSION = 5
FAIL_TIMEOUT = 10  # examples/nginx/q2api.conf: max_fails=2 fail_timeout=10s


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    session: str | None
    started: float
    ended: float
    ok: bool
    status: int | None = None
    request_id: str | None = None
    error: str | None = None
    saw_hold: bool = False


def new_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT, trust_env=False)


def ask(
    client: httpx.Client,
    session: str | None,
    *,
    stream: bool,
    text: str = "[[sim:delay:20]] Hello",
    key: str = API_KEY,
    account: str | None = None,
    on_hold: threading.Event | None = None,
) -> Outcome:
    """One Claude Messages request, as Claude Code sends it; ok = a complete reply (a stream up to message_stop)."""
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if session:
        headers["X-Claude-Code-Session-Id"] = session
    if account:
        headers["x-q2api-account"] = account
    body = {"model": MODEL, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]}
    outcome = Outcome(session, time.monotonic(), 0.0, False)
    try:
        if stream:
            with client.stream("POST", "/v1/messages", json=body, headers=headers) as response:
                outcome.status = response.status_code
                outcome.request_id = response.headers.get("request-id")
                if response.status_code != 200:
                    response.read()
                    outcome.error = response.text[:300]
                else:
                    for line in response.iter_lines():
                        if on_hold is not None and "Held: " in line:
                            outcome.saw_hold = True
                            on_hold.set()
                        if line == "event: message_stop":
                            outcome.ok = True
                    if not outcome.ok:
                        outcome.error = "stream ended without message_stop"
        else:
            response = client.post("/v1/messages", json=body, headers=headers)
            outcome.status = response.status_code
            outcome.request_id = response.headers.get("request-id")
            outcome.ok = response.status_code == 200 and response.json().get("type") == "message"
            if not outcome.ok:
                outcome.error = response.text[:300]
    except (httpx.HTTPError, ValueError) as error:
        outcome.error = f"{type(error).__name__}: {error}"
    outcome.ended = time.monotonic()
    return outcome


def run_sessions(base_url: str, sessions: list[str], per_session: int, concurrency: int = 10) -> list[Outcome]:
    """Each session's requests one after the other (as in Claude Code), the sessions side by side."""

    def one_session(index_and_session: tuple[int, str]) -> list[Outcome]:
        index, session = index_and_session
        with new_client(base_url) as client:
            return [ask(client, session, stream=(index + n) % 2 == 0) for n in range(per_session)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = pool.map(one_session, enumerate(sessions), timeout=120)
        return [outcome for outcomes in results for outcome in outcomes]


@dataclasses.dataclass
class Served:
    instance: int  # the instance whose access log has the request id
    account: str | None
    upstreams: list[int]  # the instances nginx tried, in order (from $upstream_addr)


def attribute(cluster: Cluster, outcomes: list[Outcome], timeout: float = 10) -> dict[str, Served]:
    """request id -> who served it, from nginx's log and the instances' logs (which must agree)."""
    wanted = {o.request_id for o in outcomes if o.ok}
    assert None not in wanted, "a successful reply without a request-id header"
    deadline = time.monotonic() + timeout
    while True:  # a stream's log lines are written just after its last byte: give them a moment
        by_instance = {i: cluster.q2api_requests(i) for i in range(SHARD_COUNT)}
        by_nginx = {r["request_id"]: r for r in cluster.nginx_requests() if r.get("request_id")}
        missing = [rid for rid in wanted if rid not in by_nginx or not any(rid in records for records in by_instance.values())]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not missing, f"{len(missing)} request ids are missing from the nginx or q2api access logs, e.g. {missing[:3]}"
    served = {}
    for rid in wanted:
        instances = [i for i, records in by_instance.items() if rid in records]
        assert len(instances) == 1, f"request {rid} is in the access log of instances {instances}"
        upstreams = [cluster.instance_of_port(int(addr.strip().rsplit(":", 1)[1])) for addr in by_nginx[rid]["upstream_addr"].split(",")]
        assert upstreams[-1] == instances[0], f"nginx says {rid} was answered by instance {upstreams[-1]}, the logs say {instances[0]}"
        served[rid] = Served(instances[0], by_instance[instances[0]][rid].get("account"), upstreams)
    return served


def sessions_by_instance(cluster: Cluster, outcomes: list[Outcome], served: dict[str, Served]) -> dict[str, set[int]]:
    result: dict[str, set[int]] = collections.defaultdict(set)
    for o in outcomes:
        if o.ok and o.session:
            result[o.session].add(served[o.request_id].instance)
    return result


def needs(cluster: Cluster, *keys: str) -> None:
    missing = [k for k in keys if k not in cluster.state]
    if missing:
        pytest.skip(f"needs an earlier phase that did not complete ({', '.join(missing)})")


def token_records(blob: bytes) -> list[dict]:
    return [r for r in (json.loads(line) for line in blob.decode().splitlines()) if r.get("type") == "token"]


def refreshes(cluster: Cluster, index: int, result: str = "success") -> float:
    return metric(cluster.metrics(index), "q2api_token_refreshes_total", result=result)


# ---------------------------------------------------------------------------------------------
# 1. Ownership
# ---------------------------------------------------------------------------------------------


def test_every_account_is_served_and_refreshed_by_exactly_one_instance(cluster: Cluster) -> None:
    # The Python copy of the hash agrees with the ownership this test was designed for.
    assert {a: owner(a) for a in EXPLICIT_SHARDS} == EXPECTED_OWNERS
    assert fnv1a64("juliet") % SHARD_COUNT != 1, "juliet is meant to be pinned against its hash"
    for index in range(SHARD_COUNT):
        assert cluster.check_config(index).splitlines()[0] == "ok"

    # /healthz: each instance names its shard and lists exactly its own accounts, all active.
    for index in range(SHARD_COUNT):
        health = cluster.healthz(index)
        assert health["shard"] == {"index": index, "count": SHARD_COUNT}
        ids = {item["id"] for item in health["accounts"]["items"]}
        assert ids == owned(index), f"instance {index} lists {sorted(ids)}"
        assert {item["state"] for item in health["accounts"]["items"]} == {"active"}
    assert set().union(*(owned(i) for i in range(SHARD_COUNT))) == set(EXPLICIT_SHARDS)

    # `q2api accounts`, run as each instance would be (its Q2API_SHARD_INDEX), names every owner the same way.
    for index in range(SHARD_COUNT):
        listing = cluster.accounts_cli(index)
        shards = {row["id"]: row["shard"] for row in listing}
        for account, shard in shards.items():
            assert shard == owner(account), f"q2api accounts (shard {index}) puts {account} on shard {shard}"
        assert owned(index) <= set(shards), f"q2api accounts (shard {index}) misses {owned(index) - set(shards)}"

    # /metrics: the account gauges cover the owned accounts only.
    for index in range(SHARD_COUNT):
        samples = cluster.metrics(index)
        gauged = {dict(labels)["account"] for (name, labels) in samples if name == "q2api_account_state"}
        assert gauged == owned(index)
        assert metric(samples, "q2api_accounts_total") == len(owned(index))
        assert refreshes(cluster, index) == 0, "no token is refreshed before an account is used"

    # A request pinned to an account (admin key + x-q2api-account), sent straight to every instance:
    # only the owner serves it; the others do not know the account.
    assert cluster.sim_state()["refreshCount"] == 0
    pinned = []
    for index in range(SHARD_COUNT):
        with new_client(cluster.instance_url(index)) as client:
            for account in EXPLICIT_SHARDS:
                outcome = ask(client, None, stream=False, key=ADMIN_KEY, account=account)
                if owner(account) == index:
                    assert outcome.ok, f"instance {index} did not serve its own account {account}: {outcome}"
                    pinned.append((index, account, outcome.request_id))
                else:
                    assert outcome.status == 400 and "does not exist" in (outcome.error or ""), (index, account, outcome)
    for index, account, request_id in pinned:
        assert cluster.q2api_requests(index)[request_id]["account"] == account

    # Each account was refreshed exactly once, by its owner. The simulator rotates refresh tokens
    # (the old one is refused afterwards), so a second refresher of the same account would have failed.
    assert cluster.sim_state()["refreshCount"] == len(EXPLICIT_SHARDS)
    for index in range(SHARD_COUNT):
        assert refreshes(cluster, index) == len(owned(index))
        assert refreshes(cluster, index, "failure") == 0
        files = cluster.state_files(index)
        assert set(files) == owned(index), f"state-{index} holds {sorted(files)}"
        for account, blob in files.items():
            tokens = token_records(blob)
            assert len(tokens) == 1, f"{account}: {len(tokens)} token records"
            assert tokens[0]["refresh_token"] != seed_token(account), f"{account}: the rotated refresh token was not stored"
    cluster.state["ownership"] = True


def test_simulator_counts_refreshes_per_client(cluster: Cluster) -> None:
    """Per-account proof from the upstream's side. Each account has its own OIDC client id
    (sim-client-<id>), so a simulator that counts refreshes per client id shows that every account was
    refreshed once, not merely that the total is right.

    NEEDS A SWIFT CHANGE (QSimulator): `/__sim/state` has no per-client counter today. Add
    `refreshesByClient: {clientId: successful refreshes}` (SimulatorState.refresh(_:options:) gets the
    client id from TokenEndpoint.respond and counts it next to refreshCount; ControlEndpoint.stateResponse
    prints it). Until then this test skips."""
    needs(cluster, "ownership")
    state = cluster.sim_state()
    if "refreshesByClient" not in state:
        pytest.skip("q2api simulate does not report refreshesByClient in /__sim/state yet (see the docstring)")
    assert state["refreshesByClient"] == {f"sim-client-{a}": 1 for a in EXPLICIT_SHARDS}


# ---------------------------------------------------------------------------------------------
# 2. Sessions
# ---------------------------------------------------------------------------------------------


def test_each_session_stays_on_one_instance(cluster: Cluster) -> None:
    needs(cluster, "ownership")
    sessions = [str(uuid.uuid4()) for _ in range(SESSIONS)]
    started = time.monotonic()
    outcomes = run_sessions(cluster.nginx_url, sessions, REQUESTS_PER_SESSION)
    elapsed = time.monotonic() - started
    failures = [o for o in outcomes if not o.ok]
    assert not failures, f"{len(failures)} of {len(outcomes)} requests failed, e.g. {failures[:3]}"
    served = attribute(cluster, outcomes)

    placement = sessions_by_instance(cluster, outcomes, served)
    moved = {s: sorted(i) for s, i in placement.items() if len(i) != 1}
    assert not moved, f"sessions answered by several instances: {moved}"
    home = {s: next(iter(i)) for s, i in placement.items()}
    load = collections.Counter(home.values())
    assert set(load) == set(range(SHARD_COUNT)), f"sessions per instance: {dict(load)}"

    # q2api's own affinity within the instance: a session stays on one account, one the instance owns.
    accounts: dict[str, set[str]] = collections.defaultdict(set)
    for o in outcomes:
        accounts[o.session].add(served[o.request_id].account)
    for session, used in accounts.items():
        assert len(used) == 1, f"session {session} used accounts {used}"
        assert owner(next(iter(used))) == home[session]
    assert all(len(s.upstreams) == 1 for s in served.values()), "nginx had to try another instance while all were up"

    # Clients without a session id (SDKs, curl) are kept together by address and key (the `map` fallback).
    with new_client(cluster.nginx_url) as client:
        plain = [ask(client, None, stream=False) for _ in range(5)]
    assert all(o.ok for o in plain)
    assert len({s.instance for s in attribute(cluster, plain).values()}) == 1

    assert cluster.sim_state()["refreshCount"] == len(EXPLICIT_SHARDS), "the load caused token refreshes"
    print(f"\n{len(outcomes)} requests in {elapsed:.1f} s; sessions per instance {dict(sorted(load.items()))}")
    cluster.state["home"] = home


# ---------------------------------------------------------------------------------------------
# 3. Kill
# ---------------------------------------------------------------------------------------------


def test_killing_an_instance_moves_only_its_sessions(cluster: Cluster) -> None:
    needs(cluster, "home")
    home: dict[str, int] = cluster.state["home"]
    load = collections.Counter(home.values())
    victim = max(range(SHARD_COUNT), key=lambda i: load[i])
    victim_sessions = [s for s, i in home.items() if i == victim]
    survivors = [i for i in range(SHARD_COUNT) if i != victim]

    # What must survive the crash: the state files and the tokens in them.
    health_before = {item["id"]: item for item in cluster.healthz(victim)["accounts"]["items"]}
    refreshes_before = cluster.sim_state()["refreshCount"]

    # Two streams under way on the victim, paused by the simulator after "Held: ".
    held: list[Outcome] = []
    held_threads = []
    for session in victim_sessions[:2]:
        event = threading.Event()

        def hold(session=session, event=event):
            with new_client(cluster.nginx_url) as client:
                held.append(ask(client, session, stream=True, text="[[sim:hold]]", on_hold=event))

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        held_threads.append(thread)
        assert event.wait(15), "a held stream did not start"

    # Steady load over every session: 8 workers, each request a fresh one from the client's view.
    stop = threading.Event()
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        sessions = list(home)
        n = offset
        with new_client(cluster.nginx_url) as client:
            while not stop.is_set():
                outcome = ask(client, sessions[n % len(sessions)], stream=n % 2 == 0)
                with lock:
                    outcomes.append(outcome)
                n += 8

    workers = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(8)]
    for thread in workers:
        thread.start()
    time.sleep(1.5)
    state_before = cluster.state_files(victim)  # append-only: what is there now must still be there later
    killed_at = time.monotonic()
    cluster.kill_instance(victim)
    dead_at = time.monotonic()
    # Past fail_timeout, so that nginx also probes the dead instance once: that request is refused
    # and must be passed on to another instance (a POST nothing of which was sent: safe to retry).
    # nginx counts fail_timeout in whole seconds, hence the margin.
    time.sleep(FAIL_TIMEOUT + 4)
    stop.set()
    for thread in workers + held_threads:
        thread.join(30)
    assert not any(t.is_alive() for t in workers + held_threads), "a client thread did not finish"

    # Streams under way when the instance died are cut, never replayed elsewhere.
    assert len(held) == 2 and all(o.saw_hold and not o.ok for o in held), held

    before = [o for o in outcomes if o.ended < killed_at]
    after = [o for o in outcomes if o.started >= dead_at]
    in_flight = [o for o in outcomes if o.started < dead_at and o.ended >= killed_at]
    assert before and after, f"{len(before)} requests before the kill, {len(after)} after"
    assert all(o.ok for o in before), [o for o in before if not o.ok][:3]
    failed_after = [o for o in after if not o.ok]
    assert not failed_after, f"{len(failed_after)} of {len(after)} requests started after the kill failed, e.g. {failed_after[:3]}"
    lost = [o for o in in_flight if not o.ok]
    assert all(home[o.session] == victim for o in lost), "a request of another instance's session was lost"

    served = attribute(cluster, [o for o in outcomes if o.ok])
    after_placement = sessions_by_instance(cluster, after, served)
    for session, instances in after_placement.items():
        if home[session] == victim:
            assert victim not in instances and len(instances) == 1, f"victim session {session} went to {instances}"
        else:
            assert instances == {home[session]}, f"session {session} of instance {home[session]} moved to {instances}"
    moved_to = collections.Counter(next(iter(after_placement[s])) for s in victim_sessions if s in after_placement)
    retried = sum(1 for o in after if len(served[o.request_id].upstreams) > 1)
    assert retried >= 1, "nginx never passed a request refused by the dead instance on to another one"

    # The survivors kept serving with their own accounts and refreshed nothing more.
    for index in survivors:
        health = cluster.healthz(index)
        assert {item["state"] for item in health["accounts"]["items"]} == {"active"}
        assert refreshes(cluster, index, "failure") == 0
    assert cluster.sim_state()["refreshCount"] == refreshes_before

    # The dead instance's accounts, read from its state directory alone (`q2api accounts` needs no server).
    offline = {row["id"]: row for row in cluster.accounts_cli(victim) if row["shard"] == victim}
    assert set(offline) == owned(victim)
    assert all(row["state"] == "active" and row["token_expires_at"] for row in offline.values())

    print(
        f"\nkilled instance {victim} ({len(victim_sessions)} sessions) under load: {len(before)} requests before, "
        f"{len(in_flight)} in flight ({len(lost)} lost), {len(after)} after (0 failed, {retried} retried by nginx on "
        f"another instance); its sessions moved to {dict(moved_to)}"
    )
    cluster.state.update(victim=victim, state_before=state_before, health_before=health_before)


# ---------------------------------------------------------------------------------------------
# 4. Restart
# ---------------------------------------------------------------------------------------------


def test_restarted_instance_comes_back_with_its_accounts(cluster: Cluster) -> None:
    needs(cluster, "victim", "home")
    victim: int = cluster.state["victim"]
    home: dict[str, int] = cluster.state["home"]
    refreshes_before = cluster.sim_state()["refreshCount"]

    cluster.start_instance(victim)
    restarted_at = time.monotonic()

    # Its state files are intact: what was written before the crash is still there, byte for byte.
    state_after = cluster.state_files(victim)
    for account, blob in cluster.state["state_before"].items():
        assert state_after[account].startswith(blob), f"{account}.jsonl lost records across the crash"
        for line in state_after[account].decode().splitlines():
            json.loads(line)

    # Same accounts, all active, each with the access token it had (restored, not refreshed).
    health = cluster.healthz(victim)
    items = {item["id"]: item for item in health["accounts"]["items"]}
    assert set(items) == owned(victim)
    for account, item in items.items():
        assert item["state"] == "active", item
        assert item["token_expires"] == cluster.state["health_before"][account]["token_expires"], account

    # Usable at once, straight from the restored tokens: no refresh anywhere.
    with new_client(cluster.instance_url(victim)) as client:
        for account in sorted(owned(victim)):
            outcome = ask(client, None, stream=True, key=ADMIN_KEY, account=account)
            assert outcome.ok, outcome
    assert refreshes(cluster, victim) == 0
    assert cluster.sim_state()["refreshCount"] == refreshes_before, "the restart refreshed tokens it had saved"

    # nginx gives the instance its sessions back once fail_timeout has passed (passive health: the
    # next request after it probes the instance). Nothing fails meanwhile.
    victim_sessions = [s for s, i in home.items() if i == victim]
    deadline = restarted_at + FAIL_TIMEOUT + 15
    rounds = 0
    while True:
        rounds += 1
        outcomes = run_sessions(cluster.nginx_url, list(home), 1)
        assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok][:3]
        placement = sessions_by_instance(cluster, outcomes, attribute(cluster, outcomes))
        back = all(placement[s] == {home[s]} for s in home)
        if back or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert back, f"sessions not back home {FAIL_TIMEOUT + 15} s after the restart: " + str(
        {s: (home[s], sorted(placement[s])) for s in home if placement[s] != {home[s]}}
    )
    returned_after = time.monotonic() - restarted_at

    # The rotated refresh tokens it saved still work: the YAML's seed tokens were refused by the
    # simulator after the first rotation, so a successful refresh now can only have used the saved one.
    with new_client(cluster.instance_url(victim)) as client:
        for account in sorted(owned(victim)):
            response = client.post(f"/v2/accounts/{account}/refresh", headers={"authorization": f"Bearer {ADMIN_KEY}"})
            assert response.status_code == 200, (account, response.status_code, response.text)
    assert cluster.sim_state()["refreshCount"] == refreshes_before + len(owned(victim))
    assert refreshes(cluster, victim, "failure") == 0
    for account, blob in cluster.state_files(victim).items():
        assert len(token_records(blob)) == 2, f"{account}: expected the first refresh and the operator's one"

    # Everything is whole again: nine active accounts, each on exactly one instance.
    seen = []
    for index in range(SHARD_COUNT):
        for item in cluster.healthz(index)["accounts"]["items"]:
            assert item["state"] == "active", item
            seen.append(item["id"])
    assert sorted(seen) == sorted(EXPLICIT_SHARDS)
    print(
        f"\ninstance {victim} restarted: {len(owned(victim))} accounts restored with 0 refreshes; "
        f"its {len(victim_sessions)} sessions back after {returned_after:.1f} s ({rounds} rounds)"
    )
