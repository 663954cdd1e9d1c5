"""Escape attempts from a python grader: each is contained and reported, and the test process
(standing in for the server, which is the sandbox's parent) keeps running.

Run in both sandbox modes: `bwrap` (namespaces, a minimal read-only view, an unprivileged uid)
and the `process` fallback (limits, its own network namespace, the runner's audit hook).
Network attempts target only a listener this test opens on 127.0.0.1.
"""

import dataclasses
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
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
            _ = sandbox.mode
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
            leaked = [
                k for k, v in os.environ.items() if "sk-secret" in v or k.startswith(("OPENFT", "OPENAI"))
            ]
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
    assert _wait_until(lambda: sandbox_uid_processes() == []), sandbox_uid_processes()


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
                # /usr/lib: system libraries
                if top in ("proc", "dev", "usr", "lib", "lib64", "lib32", "bin"):
                    continue
                for root, dirs, files in os.walk("/" + top):
                    seen += [os.path.join(root, name) for name in files]
            bad = [
                p
                for p in seen
                if "openft" in p or ".venv" in p or "/site-packages/" in p or p.startswith("/etc")
            ]
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


# ----- issue 11: what got out of the process mode, tried in both modes -----

FRESH = '''
import importlib.util, os, sys

def fresh(name):
    """`name` loaded anew, past the import hook (the runner's own copy set aside)."""
    sys.modules.pop(name, None)
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def spawn(argv, setsid=False):
    """Run argv through a fresh fork_exec (subprocess's audit event never fires); its stdout."""
    read, write = os.pipe()
    errors, errors_write = os.pipe()
    argv = [os.fsencode(a) for a in argv]
    pid = fresh("_posixsubprocess").fork_exec(
        argv, [argv[0]], True, (errors_write,), None, None, -1, -1, read, write, -1, -1,
        errors, errors_write, True, setsid, -1, None, None, None, -1, None, False,
    )
    os.close(write)
    os.close(errors_write)
    if setsid:
        return b""
    output = os.read(read, 4096)
    os.waitpid(pid, 0)
    return output
'''
FORK_EXEC_SIGNATURE = pytest.mark.skipif(
    sys.version_info[:2] not in ((3, 11), (3, 12)), reason="fork_exec's arguments as of Python 3.11/3.12"
)


def attempt_fresh(context, body: str, item: dict | None = None):
    return attempt(context, FRESH + textwrap.dedent(body), item)


@FORK_EXEC_SIGNATURE
def test_a_fresh_posixsubprocess_runs_nothing_privileged(context):
    result = attempt_fresh(
        context,
        """
        def grade(sample, item):
            out = spawn([sys.executable, "-c", "print(open('/etc/shadow').read()[:5])"])
            return 1.0 if out.startswith(b"root:") else 0.0
        """,
    )
    assert result.reward == 0.0, result.errors  # refused (process), or a child as confined (bwrap)


def test_the_servers_sqlite_database_through_its_open_descriptor(context):
    folder = Path(tempfile.mkdtemp(prefix="openft-escape-"))
    try:
        folder.chmod(0o755)
        database = folder / "openft.db"
        connection = sqlite3.connect(database)  # held open, as the server holds its database
        connection.execute("create table secrets (value text)")
        connection.execute("insert into secrets values ('SECRET')")
        connection.commit()
        database.chmod(0o644)
        result = attempt(
            context,
            """
            import os, sqlite3
            def grade(sample, item):
                fds, paths = "/proc/%d/fd" % os.getppid(), [item["path"]]
                try:
                    paths += [os.readlink(fds + "/" + fd) for fd in os.listdir(fds)]
                except OSError:
                    pass
                for path in paths:
                    if path.endswith(".db"):
                        db = sqlite3.connect(path)
                        if db.execute("select value from secrets").fetchall():
                            db.execute("create table planted (x)")
                            db.commit()
                            return 1.0
                return 0.0
            """,
            {"path": str(database)},
        )
        assert result.reward == 0.0
        tables = connection.execute("select name from sqlite_master").fetchall()
        assert tables == [("secrets",)]
        connection.close()
    finally:
        shutil.rmtree(folder)


def test_sqlite_in_memory_and_in_the_scratch_space_still_works(context):
    result = attempt(
        context,
        """
        import os, sqlite3
        def grade(sample, item):
            for name in (":memory:", os.path.join(os.environ["TMPDIR"], "work.db")):
                sqlite3.connect(name).execute("create table t (x)")
            return 1.0
        """,
    )
    assert result.reward == 1.0, result.errors.python_grader_runtime_error_details


def test_a_unix_socket_on_the_host(context):
    folder = Path(tempfile.mkdtemp(prefix="openft-escape-"))
    try:
        folder.chmod(0o777)
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(folder / ".s.PGSQL.5432"))
            os.chmod(folder / ".s.PGSQL.5432", 0o777)
            listener.listen(1)
            result = attempt(
                context,
                """
                import socket
                def grade(sample, item):
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(item["path"])
                    return 1.0
                """,
                {"path": str(folder / ".s.PGSQL.5432")},
            )
            listener.settimeout(0.3)
            with pytest.raises(socket.timeout):
                listener.accept()
        assert_contained(result, "No such file or directory", "not allowed", "Operation not permitted")
    finally:
        shutil.rmtree(folder)


def test_pidfd_signals_to_the_server_and_its_other_processes(context):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = attempt(
            context,
            """
            import os, signal
            def grade(sample, item):
                hit = 0
                for pid, sig in ((item["victim"], signal.SIGKILL), (os.getppid(), 0)):
                    try:
                        signal.pidfd_send_signal(os.pidfd_open(pid), sig)
                        hit += 1
                    except OSError:
                        pass
                return float(hit)
            """,
            {"victim": victim.pid},
        )
        assert result.reward == 0.0
        assert victim.poll() is None  # still running
    finally:
        victim.kill()
        victim.wait()


@FORK_EXEC_SIGNATURE
def test_a_new_session_child_does_not_outlive_the_grader(context):
    marker = f"openft-escape-{secrets.token_hex(8)}"
    attempt_fresh(
        context,
        """
        def grade(sample, item):
            spawn([sys.executable, "-c", "import time; time.sleep(30)", item["marker"]], setsid=True)
            return 1.0
        """,
        {"marker": marker},
    )
    assert _wait_until(lambda: not _processes_with(marker)), _processes_with(marker)


def test_readline_reads_no_host_file(context):
    result = attempt(
        context,
        """
        import readline
        def grade(sample, item):
            readline.read_history_file("/etc/shadow")
            return 1.0 if (readline.get_history_item(1) or "").startswith("root:") else 0.0
        """,
    )
    assert result.reward == 0.0


def test_native_calls(context):
    result = attempt(
        context,
        """
        import ctypes
        def grade(sample, item):
            buffer = ctypes.create_string_buffer(8)
            ctypes.memmove(buffer, b"patched!", 8)
            return 1.0
        """,
    )
    if context.sandbox.mode == "process":  # memmove could rewrite the audit hook itself
        assert_contained(result, "ctypes.memmove is not allowed")
    else:
        assert result.reward == 1.0  # its own memory: nothing outside the namespaces is reachable


@pytest.mark.skipif(platform.machine() != "x86_64", reason="system call numbers of x86-64")
def test_the_seccomp_filter_refuses_namespaces_ptrace_mounts_keyrings_and_bpf(context):
    result = attempt(
        context,
        """
        import ctypes
        def grade(sample, item):
            libc = ctypes.CDLL(None, use_errno=True)
            calls = {
                "unshare(user)": lambda: libc.unshare(0x10000000),
                "unshare(mount)": lambda: libc.unshare(0x00020000),
                "setns": lambda: libc.setns(0, 0),
                "clone(new user)": lambda: libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0),
                "ptrace(traceme)": lambda: libc.ptrace(0, 0, 0, 0),
                "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
                "add_key": lambda: libc.syscall(248, b"user", b"k", b"v", 1, -3),
                "keyctl": lambda: libc.syscall(250, 0, -3, 0, 0, 0),
                "request_key": lambda: libc.syscall(249, b"user", b"k", None, -3),
                "bpf": lambda: libc.syscall(321, 0, None, 0),
            }
            worked = []
            for name, call in calls.items():
                if call() == 0:
                    worked.append(name)
                    if name.startswith("clone"):
                        libc._exit(0)  # the child of a clone that went through
                elif ctypes.get_errno() != 1:  # EPERM, the filter's answer
                    worked.append("%s: errno %d" % (name, ctypes.get_errno()))
            assert not worked, worked
            return 1.0
        """,
    )
    if context.sandbox.mode == "process":
        assert_contained(result, "not allowed")  # the audit hook refuses ctypes' symbol lookups first
    else:
        assert result.reward == 1.0, result.errors.python_grader_runtime_error_details


def test_shared_memory_stays_in_the_sandbox(context):
    name = f"/openft-escape-{secrets.token_hex(8)}"
    try:
        attempt_fresh(
            context,
            """
            import os
            def grade(sample, item):
                fresh("_posixshmem").shm_open(item["name"], os.O_CREAT | os.O_RDWR, 0o600)
                return 1.0
            """,
            {"name": name},
        )
        assert not os.path.exists("/dev/shm" + name)
    finally:
        if os.path.exists("/dev/shm" + name):
            os.unlink("/dev/shm" + name)


def test_runs_as_a_fresh_unprivileged_uid_when_the_server_is_root(context):
    if os.geteuid() != 0:
        pytest.skip("only root drops to a fresh uid")
    result = attempt(context, "import os\ndef grade(s, i):\n    return float(os.getuid())\n")
    assert UID_BASE <= result.reward < UID_BASE + UID_COUNT, result.errors


def test_the_bwrap_view_shows_only_the_libraries_graders_need(context):
    if context.sandbox.mode != "bwrap":
        pytest.skip("the fallback mode has no view of its own")
    result = attempt(
        context,
        """
        import os
        def grade(sample, item):
            seen = []
            for root, dirs, files in os.walk("/usr/lib"):
                seen += [os.path.join(root, name) for name in dirs + files]
            words = ("jvm", "postgresql", "dist-packages", "/perl", "/apt")
            bad = [p for p in seen if any(w in p for w in words)]
            assert not bad, bad[:5]
            assert any(p.endswith("/libc.so.6") for p in seen), seen
            assert all(".so" in p for p in seen if os.path.isfile(p)), [p for p in seen if ".so" not in p][:5]
            return float(len(seen))
        """,
    )
    assert not result.errors.any, result.errors.python_grader_runtime_error_details
    assert result.reward < 400  # what the interpreter and its packages link against, not all of /usr/lib


def test_the_bwrap_scratch_space_and_shm_count_against_the_memory_limit(context):
    if context.sandbox.mode != "bwrap":
        pytest.skip("the process mode's scratch folder is on the host's disk")
    result = attempt(
        context,
        """
        import os, resource
        def grade(sample, item):
            tmpfs = sum(os.statvfs(p).f_blocks * os.statvfs(p).f_frsize for p in ("/tmp", "/dev/shm"))
            return float(tmpfs + resource.getrlimit(resource.RLIMIT_AS)[0])
        """,
    )
    assert not result.errors.any, result.errors.python_grader_runtime_error_details
    assert result.reward <= LIMITS.memory_bytes


def _processes_with(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def _wait_until(condition, seconds: float = 10.0) -> bool:
    """Poll for an outcome (processes take a moment to be reaped); no timing is asserted."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True
