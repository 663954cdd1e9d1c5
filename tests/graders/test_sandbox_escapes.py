"""Escape attempts from a python grader: each is contained and reported, and the test process
(standing in for the server, which is the sandbox's parent) keeps running.

Run in both sandbox modes: `bwrap` (namespaces, a minimal read-only view, an unprivileged uid)
and the `process` fallback (limits, its own network namespace, the runner's audit hook).
Network attempts target only a listener this test opens on 127.0.0.1.
"""

import dataclasses
import os
import socket
import textwrap
import time
from pathlib import Path

import pytest

from openft.graders.context import GradeContext
from openft.graders.sandbox import UID_BASE, UID_COUNT, Sandbox, SandboxLimits
from support.grading import run

LIMITS = SandboxLimits(
    timeout_seconds=3,
    memory_bytes=512 * 1024**2,
    disk_bytes=8 * 1024**2,
    max_processes=32,
    max_output_bytes=64 * 1024,
)


@pytest.fixture(scope="module", params=["bwrap", "process"])
def context(request):
    sandbox = Sandbox(request.param, LIMITS)
    if request.param == "bwrap":
        try:
            sandbox.mode
        except Exception as exc:
            pytest.skip(f"bubblewrap unusable here: {exc}")
    return GradeContext(sandbox=sandbox)


def attempt(context, source: str, item: dict | None = None):
    grader = {"type": "python", "name": "escape", "source": textwrap.dedent(source)}
    return run(grader, "sample", item or {}, context=context)


def assert_contained(result, *fragments: str):
    """The attempt failed inside the grader: reward 0, a runtime error naming what stopped it."""
    assert result.reward == 0.0
    assert result.errors.python_grader_runtime_error, result.errors
    details = result.errors.python_grader_runtime_error_details
    assert any(fragment in details for fragment in fragments), details


def sandbox_uid_processes() -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = int(
                next(line for line in status.read_text().splitlines() if line.startswith("Uid:")).split()[1]
            )
        except (OSError, StopIteration):
            continue
        if UID_BASE <= uid < UID_BASE + UID_COUNT:
            pids.append(int(status.parent.name))
    return pids


def test_network_to_the_hosts_loopback(context):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        result = attempt(
            context,
            """
            import socket
            def grade(sample, item):
                socket.create_connection(("127.0.0.1", item["port"]), timeout=2).close()
                return 1.0
        """,
            {"port": port},
        )
        assert_contained(result, "Network is unreachable", "Connection refused", "not allowed")
        listener.settimeout(0.3)
        with pytest.raises(socket.timeout):
            listener.accept()  # nothing came through


def test_udp_to_the_hosts_loopback_and_dns(context):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        result = attempt(
            context,
            """
            import socket
            def grade(sample, item):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.sendto(b"escaped", ("127.0.0.1", item["port"]))
                return 1.0
        """,
            {"port": listener.getsockname()[1]},
        )
        listener.settimeout(0.3)
        with pytest.raises(socket.timeout):
            listener.recv(16)  # sent into the sandbox's own loopback at most
    assert result.reward == 0.0 or context.sandbox.mode == "bwrap"
    result = attempt(
        context, "import socket\ndef grade(s, i):\n    return len(socket.getaddrinfo('localhost', 80))\n"
    )
    assert result.reward == 0.0 and result.errors.python_grader_runtime_error


def test_reading_the_data_dir(context, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "openft.db").write_text("SECRET-DATABASE")
    result = attempt(
        context,
        """
        def grade(sample, item):
            return 1.0 if "SECRET" in open(item["path"]).read() else 0.5
    """,
        {"path": str(data_dir / "openft.db")},
    )
    assert_contained(result, "No such file or directory", "not allowed")


def test_reading_etc_passwd_and_the_servers_source(context):
    import openft

    for path in ("/etc/passwd", "/etc/shadow", openft.__file__, "/root/.bashrc"):
        result = attempt(
            context, "def grade(s, i):\n    return len(open(i['path']).read())\n", {"path": path}
        )
        assert_contained(result, "No such file or directory", "not allowed", "Permission denied")


def test_environment_variables_and_keys(context, monkeypatch):
    monkeypatch.setenv("OPENFT_API_KEYS", '{"sk-secret-key": {}}')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-key")
    result = attempt(
        context,
        """
        import os
        def grade(sample, item):
            leaked = [k for k, v in os.environ.items() if "sk-secret" in v or k.startswith(("OPENFT", "OPENAI"))]
            for path in ("/proc/self/environ", "/proc/1/environ"):
                try:
                    leaked += ["proc"] if b"sk-secret" in open(path, "rb").read() else []
                except OSError:
                    pass
            assert not leaked, leaked
            return float(len(os.environ))
    """,
    )
    assert not result.errors.any, result.errors
    assert 0 < result.reward <= 8  # HOME, TMPDIR, LANG and the thread counts only


def test_fork_bomb(context):
    result = attempt(
        context,
        """
        import os
        def grade(sample, item):
            while True:
                os.fork()
    """,
    )
    assert_contained(result, "Resource temporarily unavailable", "not allowed", "time limit")
    time.sleep(0.2)
    assert sandbox_uid_processes() == []


def test_subprocess_and_shell(context):
    result = attempt(
        context,
        """
        import subprocess
        def grade(sample, item):
            return float(subprocess.run(["/bin/sh", "-c", "id"]).returncode == 0)
    """,
    )
    assert_contained(result, "No such file or directory", "not allowed")


def test_memory_bomb(context):
    result = attempt(context, "def grade(s, i):\n    return len(bytearray(4 * 1024**3))\n")
    assert_contained(result, "MemoryError")
    result = attempt(
        context,
        """
        def grade(sample, item):
            hoard = []
            while True:
                hoard.append(bytearray(16 * 1024**2))
    """,
    )
    assert_contained(result, "MemoryError", "killed")


def test_infinite_loop_and_sleep(context):
    for body in ("while True:\n        pass", "import time\n    time.sleep(3600)"):
        result = attempt(context, f"def grade(s, i):\n    {body}\n")
        assert_contained(result, "did not finish within 3 s")  # stopped by the wall clock
        assert result.execution_time < 60


def test_writing_outside_the_scratch_space(context, tmp_path):
    target = tmp_path / "planted.txt"
    for path in (str(target), "/usr/lib/planted.txt", "/planted.txt", "/etc/planted"):
        result = attempt(
            context, "def grade(s, i):\n    open(i['path'], 'w').write('x')\n    return 1.0\n", {"path": path}
        )
        assert_contained(
            result, "Read-only file system", "No such file or directory", "Permission denied", "not allowed"
        )
    assert not target.exists()


def test_the_scratch_space_works_and_is_limited(context):
    ok = attempt(
        context,
        """
        import os, tempfile
        def grade(sample, item):
            path = os.path.join(tempfile.gettempdir(), "notes.txt")
            open(path, "w").write("kept")
            return 1.0 if open(path).read() == "kept" else 0.0
    """,
    )
    assert ok.reward == 1.0, ok.errors
    full = attempt(
        context,
        """
        import os
        def grade(sample, item):
            with open(os.path.join(os.environ["TMPDIR"], "big"), "wb") as f:
                for _ in range(64):
                    f.write(b"x" * 1024 * 1024)
            return 1.0
    """,
    )
    assert_contained(full, "No space left on device", "File too large", "disk limit")


def test_killing_its_parent_and_everyone(context):
    result = attempt(
        context,
        """
        import os, signal
        def grade(sample, item):
            for pid in (os.getppid(), item["server_pid"], -1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.killpg(0, signal.SIGKILL)
            return 1.0
    """,
        {"server_pid": os.getpid()},
    )
    assert result.reward == 0.0  # killed itself at most, or was refused
    assert result.errors.python_grader_runtime_error
    assert os.getpid()  # still here


def test_huge_output(context):
    result = attempt(
        context,
        """
        import sys
        def grade(sample, item):
            while True:
                sys.stdout.write("x" * 65536)
    """,
    )
    assert_contained(result, "wrote more than 65536 bytes to stderr")


def test_importing_the_servers_modules(context):
    import openft

    source_root = str(Path(openft.__file__).resolve().parents[1])
    result = attempt(
        context,
        """
        import sys
        def grade(sample, item):
            sys.path.insert(0, item["src"])
            import openft.config
            return 1.0
    """,
        {"src": source_root},
    )
    assert_contained(result, "No module named 'openft'", "not available to graders")


def test_the_sandbox_still_grades_after_all_that(context):
    assert attempt(context, "def grade(s, i):\n    return 0.5\n").reward == 0.5


def test_the_bwrap_view_holds_only_what_graders_need(context):
    if context.sandbox.mode != "bwrap":
        pytest.skip("the fallback mode has no view of its own (its audit hook filters reads)")
    walker = GradeContext(sandbox=Sandbox("bwrap", dataclasses.replace(LIMITS, timeout_seconds=60)))
    result = attempt(
        walker,
        """
        import os
        def grade(sample, item):
            seen = []
            for top in sorted(os.listdir("/")):
                if top in ("proc", "dev", "usr", "lib", "lib64", "lib32", "bin"):  # /usr/lib: system libraries
                    continue
                for root, dirs, files in os.walk("/" + top):
                    seen += [os.path.join(root, name) for name in files]
            bad = [p for p in seen if "openft" in p or ".venv" in p or "/site-packages/" in p or p.startswith("/etc")]
            assert not bad, bad[:5]
            assert sorted(os.listdir("/")) == item["tops"], sorted(os.listdir("/"))
            assert sorted(os.listdir("/sandbox")) == ["runner.py", "site"]
            assert "numpy" in os.listdir("/sandbox/site") and "openft" not in os.listdir("/sandbox/site")
            return float(len(seen))
    """,
        {"tops": sorted({"dev", "proc", "sandbox", "tmp"} | _expected_tops())},
    )
    assert not result.errors.any, result.errors.python_grader_runtime_error_details
    assert result.reward > 1000  # the standard library and the grader packages


def _expected_tops() -> set[str]:
    """/usr and the /lib* of this host, and the top folder of the interpreter (/root for pyenv)."""
    from openft.graders.bwrap import SYSTEM_LIBS, interpreter

    return {Path(p).parts[1] for p in SYSTEM_LIBS if os.path.lexists(p)} | {interpreter().parts[1]}
