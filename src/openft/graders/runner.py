"""Runs one python grader, inside the sandbox: `python -I -S -B -X utf8 runner.py`.

A stand-alone script (standard library only; it never imports openft and cannot: the server's
code is not in its view). It reads {"config", "source", "sample", "item"} as JSON on stdin,
confines itself (limits, CPU affinity, an unprivileged uid, and in the process mode its own
namespaces, a seccomp filter and an audit hook), then runs `grade(sample, item)` and writes
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
        except BaseException:  # the grader may have closed or replaced them
            pass
    _write(result_fd, json.dumps(result).encode())
    os._exit(0)


def confine(config):
    if config.get("isolate"):
        _isolate(config["shm_bytes"])
    for name, value in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    cpus = sorted(os.sched_getaffinity(0))[: config["cpu_cores"]]
    os.sched_setaffinity(0, cpus)
    paths = [p for p in sys.path if p and os.path.isdir(p)] + list(config["site_paths"])
    if config.get("uid") is not None and os.geteuid() == 0:
        moved = {p: _reachable(p, config["uid"]) for p in paths}
        paths = [moved[p] for p in paths]
        _move_packages({old: new for old, new in moved.items() if old != new})
        os.setgroups([])
        os.setgid(config["uid"])
        os.setuid(config["uid"])  # drops every capability
    sys.path[:] = paths
    sys.path_importer_cache.clear()
    if config.get("seccomp"):
        _seccomp(bytes.fromhex(config["seccomp"]))
    if config.get("guard"):
        install_guard(config["scratch"], config["read_roots"])


def _reachable(path, uid):
    """`path`, or, when `uid` could not reach it (a Python under /root, mode 0700), the path of a
    descriptor opened now: /proc/self/fd/N reaches the folder without crossing its parents."""
    probe = path
    while probe not in ("/", ""):
        probe = os.path.dirname(probe)
        info = os.stat(probe)
        if not info.st_mode & 0o001 and info.st_uid != uid:
            return f"/proc/self/fd/{os.open(path, os.O_RDONLY | os.O_DIRECTORY)}"
    return path


def _move_packages(moved):
    """Point the packages imported so far (encodings, ...) at their folders' new paths."""
    if not moved:
        return
    for module in list(sys.modules.values()):
        search = getattr(module, "__path__", None)
        if isinstance(search, list):
            for i, entry in enumerate(search):
                for old, new in moved.items():
                    if entry == old or entry.startswith(old + "/"):
                        search[i] = new + entry[len(old) :]


def _seccomp(program):
    """Install the server's BPF filter on this process (no_new_privs first, as the kernel asks)."""
    import ctypes

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = Program(len(program) // 8, ctypes.addressof(buffer))
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    ulong = ctypes.c_ulong
    if libc.prctl(pr_set_no_new_privs, ulong(1), ulong(0), ulong(0), ulong(0)) != 0 or (
        libc.prctl(pr_set_seccomp, ulong(seccomp_mode_filter), ctypes.byref(fprog), ulong(0), ulong(0)) != 0
    ):
        raise SystemExit(f"sandbox: the seccomp filter could not be installed (errno {ctypes.get_errno()})")


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
        "ctypes.call_function",  # _ctypes.call_function
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
# openft: the server's code; the others reach the system below the audit hook (a fresh
# _posixsubprocess.fork_exec, shm_open into the host's /dev/shm, readline's file reads)
_HIDDEN_MODULES = ("openft", "_posixsubprocess", "_posixshmem", "multiprocessing.shared_memory", "readline")
_MEMORY_DATABASES = ("", ":memory:")
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
        elif event == "sqlite3.connect":  # sqlite opens its files below the hook
            database = args[0]
            named = os.fsdecode(database) if isinstance(database, (str, bytes, os.PathLike)) else None
            if named is None or (named not in _MEMORY_DATABASES and not inside(named, (scratch,))):
                refuse(event, database)
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
    _neuter_ctypes(refuse)
    sys.addaudithook(hook)


def _neuter_ctypes(refuse):
    """ctypes' raw memory functions raise no audit event; they could rewrite this very hook."""
    ctypes = sys.modules.get("ctypes")
    if ctypes is None:
        return
    for name in ("memmove", "memset"):

        def refused(*args, _name="ctypes." + name):
            refuse(_name)

        setattr(ctypes, name, refused)


def _isolate(shm_bytes):
    """The process mode's own network (no interfaces but a down loopback), IPC and mount
    namespaces, and in the latter a private /dev/shm of `shm_bytes`; where the kernel refuses,
    the seccomp filter and the audit hook are what remains."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    newns, newipc, newnet, newuser = 0x00020000, 0x08000000, 0x40000000, 0x10000000
    flags = newnet | newipc | newns | (0 if os.geteuid() == 0 else newuser)
    if libc.unshare(flags) != 0:
        _note(f"no namespaces of its own (errno {ctypes.get_errno()})")
        return
    ms_rec, ms_private, ms_nosuid, ms_nodev = 0x4000, 0x40000, 0x2, 0x4
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    options = f"size={shm_bytes},mode=1777".encode()
    if (
        libc.mount(None, b"/", None, ms_rec | ms_private, None) != 0
        or libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", ms_nosuid | ms_nodev, options) != 0
    ):
        _note(f"no private /dev/shm (errno {ctypes.get_errno()})")


def _note(message):
    print(f"sandbox: {message}; the seccomp filter and the audit hook still apply", file=sys.stderr)


def run_grader(source, sample, item):
    linecache.cache[SOURCE_NAME] = (len(source), None, source.splitlines(True), SOURCE_NAME)
    namespace = {"__name__": "__grader__"}
    try:
        exec(compile(source, SOURCE_NAME, "exec"), namespace)
        grade = namespace.get("grade")
        if not callable(grade):
            return {"error": "the source does not define a function grade(sample, item)"}
        value = grade(sample, item)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are grader errors too
        return {"error": _details(exc)}
    return _score(value)


def _details(exc):
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
    except BaseException:  # e.g. MemoryError again while formatting
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
