"""The `cluster` fixture of Tests/ScaleOut: the rig of scale_out_rig.py, started once for the module.

scripts/test runs the suite (step "scale-out"); see scale_out_rig.py for the environment it reads.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from scale_out_rig import SHARD_COUNT, Cluster, find_nginx, find_q2api, tail


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    q2api_bin, nginx_bin = find_q2api(), find_nginx()
    if not q2api_bin:
        pytest.fail("no q2api binary: set Q2API_BIN or build .build/debug/q2api")
    if not nginx_bin:
        pytest.fail("no nginx: apt-get install nginx (scripts/test does it), or set NGINX_BIN")
    workdir = Path(tempfile.mkdtemp(prefix="q2api-scale-out."))
    bin_copy = workdir / "q2api"
    shutil.copy2(q2api_bin, bin_copy)
    rig = Cluster(workdir, str(bin_copy), nginx_bin)
    failed_before = request.session.testsfailed
    try:
        rig.start_simulator()
        rig.write_config()
        for index in range(SHARD_COUNT):
            rig.start_instance(index)
        rig.render_nginx()
        rig.start_nginx()
        yield rig
    finally:
        rig.stop_all()
        if request.session.testsfailed > failed_before or sys.exc_info()[0] is not None:
            bin_copy.unlink(missing_ok=True)
            report = [f"\n----- {proc.log.name} (last lines) -----\n{tail(proc.log)}" for proc in rig.procs.values()]
            report += [f"\n----- nginx {log.name} (last lines) -----\n{tail(log)}" for log in (rig.nginx_error_log, rig.nginx_access_log)]
            report.append(f"\n(the scale-out rig's files are kept in {workdir})")
            # Past pytest's output capture, which would otherwise swallow a module fixture's teardown output.
            capture = request.config.pluginmanager.getplugin("capturemanager")
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                print("\n".join(report), file=sys.stderr, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
