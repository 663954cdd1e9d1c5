"""Runs one python grader, inside the sandbox: `python -I -S -B -X utf8 runner.py`.

A stand-alone script (standard library only; it never imports openft and cannot: the server's
code is not in its view). It reads {"config", "source", "sample", "item"} as JSON on stdin,
confines itself (limits, CPU affinity, an unprivileged uid, and in the fallback mode its own
network namespace and an audit hook), then runs `grade(sample, item)` and writes
{"score": float} or {"error": traceback} to the stdout it was given. The grader's own prints
go to stderr.
"""

import json
import linecache
import math
import numbers
import os
import resource
import sys
import traceback

MAX_DETAILS = 8000
SOURCE_NAME = "grader.py"


def main():
    main_pid = os.getpid()
    request = json.loads(sys.stdin.buffer.read())
    result_fd = os.dup(1)
    os.dup2(2, 1)  # print() in the grader goes to stderr; the result has its own descriptor
    confine(request["config"])
    result = run_grader(request["source"], request["sample"], request["item"])
    if os.getpid() != main_pid:  # a process the grader forked returned here: only the runner reports
        os._exit(0)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: the grader may have closed or replaced them
            pass
    _write(result_fd, json.dumps(result).encode())
    os._exit(0)


def confine(config):
    if config.get("isolate_network"):
        _unshare_network()
    for name, value in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    cpus = sorted(os.sched_getaffinity(0))[: config["cpu_cores"]]
    os.sched_setaffinity(0, cpus)
    if config.get("uid") is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])  # drops every capability
    sys.path[:] = [p for p in sys.path if p and os.path.isdir(p)] + list(config["site_paths"])
    if config.get("guard"):
        install_guard(config["scratch"], config["read_roots"])


# ----- the fallback mode's audit hook (the bwrap mode confines with namespaces instead) -----

_REFUSED = frozenset(
    {
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "subprocess.Popen",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.cdata",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys.setprofile",
        "sys.settrace",
        "os.chroot",
        "os.setxattr",
        "os.removexattr",
    }
)
_WRITES = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.link",
        "os.symlink",
        "os.truncate",
        "os.utime",
        "shutil.rmtree",
        "shutil.move",
    }
)
_READS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.listxattr", "os.getxattr"})
_HIDDEN_MODULES = ("openft",)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def install_guard(scratch, read_roots):
    """Refuse processes, signals, sockets, native calls, and files outside the view."""
    scratch = os.path.realpath(scratch)
    readable = tuple(os.path.realpath(p) for p in list(read_roots) + [scratch])

    def inside(path, roots):
        if isinstance(path, int):
            return True
        real = os.path.realpath(os.fsdecode(path))
        return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)

    def refuse(event, path=None):
        raise PermissionError(
            "sandbox: %s is not allowed%s" % (event, "" if path is None else ": %r" % (path,))
        )

    def hook(event, args):
        if event == "import":
            name = args[0] or ""
            if any(name == m or name.startswith(m + ".") for m in _HIDDEN_MODULES):
                raise ImportError("sandbox: module %r is not available to graders" % name)
        elif event in _REFUSED:
            refuse(event)
        elif event == "open":
            path, mode, flags = args
            writes = bool(set(mode or "") & set("wax+")) or bool((flags or 0) & _WRITE_FLAGS)
            if not inside(path, (scratch,) if writes else readable):
                refuse("writing" if writes else "reading", path)
        elif event in _WRITES:
            for path in args[1 if event == "os.symlink" else 0 :]:  # a link may point anywhere
                if isinstance(path, (str, bytes, os.PathLike)) and not inside(path, (scratch,)):
                    refuse(event, path)
        elif event in _READS and args and not inside(args[0] if args[0] is not None else ".", readable):
            refuse(event, args[0])

    import _posixsubprocess  # subprocess imports it; its fork_exec raises no audit event itself

    def fork_exec(*args, **kwargs):
        refuse("subprocess.Popen")

    _posixsubprocess.fork_exec = fork_exec
    sys.addaudithook(hook)


def _unshare_network():
    """The fallback mode's own network namespace (no interfaces but a down loopback)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newnet, clone_newuser = 0x40000000, 0x10000000
    flags = clone_newnet if os.geteuid() == 0 else clone_newnet | clone_newuser
    if libc.unshare(flags) != 0:
        print(
            "sandbox: no network namespace (errno %d); sockets are refused by the audit hook"
            % ctypes.get_errno(),
            file=sys.stderr,
        )


def run_grader(source, sample, item):
    linecache.cache[SOURCE_NAME] = (len(source), None, source.splitlines(True), SOURCE_NAME)
    namespace = {"__name__": "__grader__"}
    try:
        exec(compile(source, SOURCE_NAME, "exec"), namespace)
        grade = namespace.get("grade")
        if not callable(grade):
            return {"error": "the source does not define a function grade(sample, item)"}
        value = grade(sample, item)
    except BaseException as exc:  # noqa: SystemExit and KeyboardInterrupt are grader errors too
        return {"error": _details(exc)}
    return _score(value)


def _details(exc):
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
    except BaseException:  # noqa: e.g. MemoryError again while formatting
        text = "%s: %s" % (type(exc).__name__, exc)
    return text if len(text) <= MAX_DETAILS else "...\n" + text[-MAX_DETAILS:]


def _score(value):
    if not isinstance(value, numbers.Real):
        return {"error": "grade() returned %s, expected a float" % type(value).__name__}
    try:
        score = float(value)
    except BaseException as exc:
        return {"error": _details(exc)}
    if not math.isfinite(score):
        return {"error": "grade() returned %r, expected a finite float" % score}
    return {"score": score}


def _write(fd, data):
    while data:
        data = data[os.write(fd, data) :]


if __name__ == "__main__":
    main()
