"""I/O per function: bytes, calls and time of real file, pipe and socket I/O
are charged to the function that did it (inclusive, since the builtin that
made the system call is the user function's child), per-thread kernel totals
are recorded, and the C library calls are left as they were after stop."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipegauge import _core

MB = 1 << 20
IO_METRICS = ("io.read_bytes", "io.write_bytes", "io.read_ops", "io.write_ops", "io.ns")


def io_by_function(run_dir: Path, script: str = "prog.py") -> dict[str, dict[str, int]]:
    """Short function name -> io metric -> inclusive value, for the
    functions of script (qualified names cut to the last part: 3.10 has
    plain co_name)."""
    profile = _core.Profile.read(str(run_dir / "profile.pgprof"))
    functions = profile.functions()
    result: dict[str, dict[str, int]] = {}
    for index, record in enumerate(functions):
        if record[1].endswith(script):
            result[record[0].rsplit(".", 1)[-1]] = {name: 0 for name in IO_METRICS}
    for metric, (name, _unit, _merge) in enumerate(profile.metrics()):
        if name not in IO_METRICS:
            continue
        for index, (_exclusive, inclusive) in enumerate(profile.function_metric(metric)):
            record = functions[index]
            if record[1].endswith(script):
                result[record[0].rsplit(".", 1)[-1]][name] = int(inclusive)
    return result


def thread_rows(run_dir: Path) -> list[dict[str, Any]]:
    return _core.Profile.read(str(run_dir / "profile.pgprof")).thread_io()


def near(value: int, expected: int, fraction: float = 0.01) -> bool:
    return abs(value - expected) <= expected * fraction


FILE_AND_SOCKET = """
    import socket, threading

    def writer(path):
        with open(path, "wb") as f:
            f.write(b"x" * (50 << 20))

    def sender(sock, total):
        sock.sendall(b"y" * total)
        sock.close()

    def receiver():
        a, b = socket.socketpair()
        total = 10 << 20
        thread = threading.Thread(target=sender, args=(b, total))
        thread.start()
        got = 0
        buffer = bytearray(1 << 16)
        while got < total:
            n = a.recv_into(buffer)
            if not n:
                break
            got += n
        thread.join()
        a.close()
        assert got == total

    def idle():
        return sum(range(1000))

    writer("big.bin")
    receiver()
    idle()
"""


def test_file_and_socket_bytes_go_to_exactly_their_functions(pipegauge, write_script):
    # GIVEN a program writing 50 MB to a file in one function and receiving
    # 10 MB over a socketpair in another, the sender in a second thread
    write_script(FILE_AND_SOCKET)
    # WHEN it runs under pipegauge
    result = pipegauge("run", "prog.py")
    assert result.returncode == 0, result.stderr
    run_dir = result.only_run_dir()
    io = io_by_function(run_dir)
    # THEN each function's inclusive I/O is its own bytes (within 1%)
    assert near(io["writer"]["io.write_bytes"], 50 * MB), io["writer"]
    assert near(io["receiver"]["io.read_bytes"], 10 * MB), io["receiver"]
    assert near(io["sender"]["io.write_bytes"], 10 * MB), io["sender"]
    assert io["receiver"]["io.read_ops"] >= 10 * MB // (1 << 16)
    assert io["writer"]["io.write_ops"] >= 1 and io["writer"]["io.ns"] > 0
    # AND no other function of the program got those bytes (only <module>,
    # the caller of writer and receiver, includes them)
    for name, values in io.items():
        if name not in ("writer", "<module>"):
            assert values["io.write_bytes"] < 0.01 * 50 * MB or name == "sender", (name, values)
        if name not in ("receiver", "<module>"):
            assert values["io.read_bytes"] < 0.01 * 10 * MB, (name, values)
    assert io["idle"] == {name: 0 for name in IO_METRICS}
    assert near(io["<module>"]["io.write_bytes"], 50 * MB)
    # AND the per-thread totals: the kernel saw the file write on the main
    # thread; the hooks saw the socket bytes (which the kernel's wchar/rchar
    # leave out) on the thread that moved them
    rows = thread_rows(run_dir)
    process = rows[0]
    assert process["flags"] & 1 and process["tid"] == 0
    assert process["wchar"] >= 50 * MB and near(process["hooked_write_bytes"], 50 * MB)
    assert near(process["hooked_recv_bytes"], 10 * MB) and near(process["hooked_send_bytes"], 10 * MB)
    threads = rows[1:]
    main = [row for row in threads if row["wchar"] >= 50 * MB]
    assert len(main) == 1 and near(main[0]["hooked_recv_bytes"], 10 * MB)
    assert main[0]["flags"] & 2  # alive at start
    senders = [row for row in threads if near(row["hooked_send_bytes"], 10 * MB)]
    assert len(senders) == 1 and senders[0] is not main[0]
    assert not senders[0]["flags"] & 2  # started after the profiler


OS_CALLS = """
    import os, socket, threading

    def os_writer(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        for _ in range(16):
            os.write(fd, b"a" * 65536)
        os.close(fd)

    def os_reader(path):
        fd = os.open(path, os.O_RDONLY)
        total = 0
        while True:
            chunk = os.read(fd, 100000)
            if not chunk:
                break
            total += len(chunk)
        os.close(fd)
        assert total == 16 * 65536

    def positional(path):
        fd = os.open(path, os.O_RDWR)
        os.pwrite(fd, b"b" * 5000, 100)
        assert len(os.pread(fd, 3000, 0)) == 3000
        os.writev(fd, [b"c" * 700, b"d" * 300])
        os.close(fd)

    def pipe_reader(fd, total, out):
        got = 0
        while got < total:
            got += len(os.read(fd, 8192))
        out.append(got)

    def pipe_in_thread():
        r, w = os.pipe()
        out = []
        thread = threading.Thread(target=pipe_reader, args=(r, 300000, out))
        thread.start()
        data = b"p" * 300000
        view = memoryview(data)
        while view:
            view = view[os.write(w, view[:65536]):]
        thread.join()
        os.close(r), os.close(w)
        assert out == [300000]

    def text_files(path):
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(1000):
                f.write("\u00e9" * 500)  # 2 bytes each in UTF-8
        with open(path, encoding="utf-8") as f:
            assert len(f.read()) == 500000

    def raw_files(path):
        with open(path, "wb", buffering=0) as f:
            f.write(b"r" * 12345)
        with open(path, "rb", buffering=0) as f:
            assert len(f.read()) == 12345

    def socket_variants():
        a, b = socket.socketpair()
        a.sendmsg([b"m" * 1000, b"n" * 500])
        assert len(b.recvmsg(1500)[0]) == 1500
        a.send(b"o" * 700)
        assert len(b.recvfrom(700)[0]) == 700
        buffer = bytearray(300)
        a.send(b"p" * 300)
        assert b.recvfrom_into(buffer)[0] == 300
        a.close(), b.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        v.bind(("127.0.0.1", 0))
        u.sendto(b"u" * 200, v.getsockname())
        assert len(v.recvfrom(1000)[0]) == 200
        u.close(), v.close()

    def would_block():
        a, b = socket.socketpair()
        a.setblocking(False)
        for _ in range(100):
            try:
                a.recv(10)
            except BlockingIOError:
                pass
        a.close(), b.close()

    os_writer("data.bin")
    os_reader("data.bin")
    positional("data.bin")
    pipe_in_thread()
    text_files("text.txt")
    raw_files("raw.bin")
    socket_variants()
    would_block()
"""


def test_os_calls_and_a_non_main_thread(pipegauge, write_script):
    # GIVEN os.read/os.write/pread/pwrite/writev, a pipe read in a thread,
    # text and raw file objects
    write_script(OS_CALLS)
    # WHEN profiled
    result = pipegauge("run", "prog.py")
    assert result.returncode == 0, result.stderr
    io = io_by_function(result.only_run_dir())
    # THEN the exact byte counts and calls land on the functions that made them
    assert io["os_writer"]["io.write_bytes"] == 16 * 65536
    assert io["os_writer"]["io.write_ops"] == 16
    assert io["os_writer"]["io.read_bytes"] == 0
    assert io["os_reader"]["io.read_bytes"] == 16 * 65536
    assert io["os_reader"]["io.read_ops"] >= 12  # the last read (EOF) is an op of 0 bytes
    assert io["positional"]["io.write_bytes"] == 5000 + 1000
    assert io["positional"]["io.read_bytes"] == 3000
    assert io["positional"]["io.write_ops"] == 2 and io["positional"]["io.read_ops"] == 1
    # AND through text and unbuffered (raw) file objects, in encoded bytes
    assert io["text_files"]["io.write_bytes"] == 1000000
    assert io["text_files"]["io.read_bytes"] == 1000000
    assert io["raw_files"]["io.write_bytes"] == 12345 and io["raw_files"]["io.write_ops"] == 1
    assert io["raw_files"]["io.read_bytes"] == 12345
    # AND sendmsg/send/sendto, recvmsg/recvfrom/recvfrom_into
    assert io["socket_variants"]["io.write_bytes"] == 1500 + 700 + 300 + 200
    assert io["socket_variants"]["io.read_bytes"] == 1500 + 700 + 300 + 200
    assert io["socket_variants"]["io.write_ops"] == 4 and io["socket_variants"]["io.read_ops"] == 4
    # AND a call that fails (EAGAIN) is no operation and no bytes, only time
    assert io["would_block"]["io.read_ops"] == 0 and io["would_block"]["io.read_bytes"] == 0
    assert io["would_block"]["io.ns"] > 0
    # AND in the reader thread
    assert io["pipe_reader"]["io.read_bytes"] == 300000
    assert io["pipe_in_thread"]["io.write_bytes"] == 300000
    assert io["pipe_in_thread"]["io.read_bytes"] == 0


def test_no_io_option_records_no_io(pipegauge, write_script):
    # GIVEN the same file writer WHEN run with --no-io
    write_script(FILE_AND_SOCKET)
    result = pipegauge("run", "--no-io", "prog.py")
    assert result.returncode == 0, result.stderr
    run_dir = result.only_run_dir()
    profile = _core.Profile.read(str(run_dir / "profile.pgprof"))
    # THEN there is no I/O metric, no per-thread row, and the metadata says so
    assert not [m for m in profile.metrics() if m[0].startswith("io.")]
    assert profile.thread_io() == []
    assert profile.meta["io"] == "off"


RESTORE = """
    import os, sys
    from pipegauge import _core

    def work(fd, n):
        for _ in range(n):
            os.write(fd, b"z" * 1000)

    fd = os.open(os.devnull, os.O_WRONLY)
    assert _core._io_state()["installed"] == 0
    _core.start(io=True)
    state = _core._io_state()
    assert state["installed"] == 1 and state["slots"] >= 2, state
    work(fd, 10)
    # a snapshot of the live profile has the per-thread rows so far
    rows = _core.snapshot().thread_io()
    assert rows[0]["tid"] == 0 and rows[0]["hooked_write_bytes"] >= 10000, rows
    assert _core._io_state()["installed"] == 1
    first = _core.stop()
    after = _core._io_state()
    assert after["installed"] == 0 and after["slots"] == 0, after
    # I/O after stop: nothing counts it and nothing breaks
    work(fd, 1000)
    os.write(fd, b"after")
    # a second session sees only its own I/O
    _core.start(io=True)
    work(fd, 3)
    second = _core.stop()

    def written(profile):
        names = [f[0] for f in profile.functions()]
        metric = [m[0] for m in profile.metrics()].index("io.write_bytes")
        values = profile.function_metric(metric)
        return values[names.index("work")][1]

    print(written(first), written(second), first.meta.get("io", "-"))
    # errno and results still pass through the unhooked calls
    try:
        os.write(-1, b"x")
    except OSError as exc:
        print("errno", exc.errno)
"""


def test_calls_are_restored_after_stop(python, write_script):
    # GIVEN a program that profiles some writes, stops, writes more, profiles again
    write_script(RESTORE)
    # WHEN it runs
    result = python("prog.py")
    # THEN the GOT is back to normal after stop, and each session counted
    # only the I/O it saw
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["10000", "3000"], result.stdout
    assert lines[1] == "errno 9"


LATE_LIBRARY_C = r"""
#include <unistd.h>
long late_write(int fd, long size)
{
    static char block[4096];
    long total = 0;
    while (total < size) {
        long n = write(fd, block, size - total < 4096 ? size - total : 4096);
        if (n <= 0)
            return -1;
        total += n;
    }
    return total;
}
"""

LATE_LOAD = """
    import os, sys
    from pipegauge import _core
    assert "_ctypes" not in sys.modules, "the test needs _ctypes loaded after start"
    _core.start(io=True)

    def late(path):
        import ctypes  # loads the _ctypes extension: a dlopen after start
        library = ctypes.CDLL(path)  # and this library: another one, from _ctypes
        fd = os.open(os.devnull, os.O_WRONLY)
        assert library.late_write(fd, 300000) == 300000
        os.close(fd)

    late(sys.argv[1])
    rescans = _core._io_state()["rescans"]
    profile = _core.stop()
    names = [f[0] for f in profile.functions()]
    metrics = [m[0] for m in profile.metrics()]
    written = profile.function_metric(metrics.index("io.write_bytes"))
    print(written[names.index("late")][1], rescans)
"""


def test_libraries_loaded_after_start_are_covered(python, write_script, workdir):
    # GIVEN a shared library, loaded through ctypes (itself imported late)
    # only after the profiler started, that calls write() from C
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the test library")
    (workdir / "late.c").write_text(LATE_LIBRARY_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(workdir / "liblate.so"),
                    str(workdir / "late.c")], check=True, timeout=120)
    write_script(LATE_LOAD)
    # WHEN a Python function calls it
    result = python("prog.py", str(workdir / "liblate.so"))
    assert result.returncode == 0, result.stderr
    written, rescans = (int(field) for field in result.stdout.split())
    # THEN the dlopen hook patched the new objects: the bytes are counted
    # and charged to the calling function
    assert written == 300000
    assert rescans >= 2


SQLITE = """
    import sqlite3

    def store(path):
        connection = sqlite3.connect(path)
        connection.execute("create table t (b blob)")
        for _ in range(8):
            connection.execute("insert into t values (?)", (b"s" * (256 << 10),))
        connection.commit()
        connection.close()

    store("db.sqlite")
"""


def test_io_outside_the_hooks_shows_in_thread_totals(pipegauge, write_script):
    # GIVEN SQLite writing 2 MB through its own table of system-call pointers
    # (not through the GOT, so the hooks do not see it)
    write_script(SQLITE)
    # WHEN profiled
    result = pipegauge("run", "prog.py")
    assert result.returncode == 0, result.stderr
    rows = thread_rows(result.only_run_dir())
    # THEN the kernel's totals of the thread still show the 2 MB, as I/O
    # no function was charged for
    main = max(rows[1:], key=lambda row: row["wchar"])
    assert main["wchar"] >= 2 * MB
    assert main["wchar"] - main["hooked_write_bytes"] >= 2 * MB


STRESS = """
    import hashlib, os, socket, threading
    from pipegauge import _core

    stop = threading.Event()
    failures = []

    def worker(path):
        data = os.urandom(1 << 16)
        digest = hashlib.sha256(data).hexdigest()
        rounds = 0
        while not stop.is_set() or rounds < 20:
            rounds += 1
            with open(path, "wb") as f:
                f.write(data)
            with open(path, "rb") as f:
                if hashlib.sha256(f.read()).hexdigest() != digest:
                    failures.append("file")
            a, b = socket.socketpair()
            b.sendall(data)
            b.close()
            got = bytearray()
            while True:
                chunk = a.recv(8192)
                if not chunk:
                    break
                got += chunk
            a.close()
            if bytes(got) != data:
                failures.append("socket")
            r, w = os.pipe()
            os.write(w, data[:4096])
            if os.read(r, 4096) != data[:4096]:
                failures.append("pipe")
            os.close(r), os.close(w)

    threads = [threading.Thread(target=worker, args=(f"f{i}.bin",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(40):
        _core.start(io=True)
        sum(range(2000))
        _core.stop()
    stop.set()
    for thread in threads:
        thread.join()
    print("failures", len(failures))
"""


def test_io_unaffected_by_repeated_start_and_stop(python, write_script):
    # GIVEN threads doing file, socket and pipe I/O and checking every byte
    write_script(STRESS)
    # WHEN the profiler is started and stopped 40 times meanwhile
    result = python("prog.py")
    # THEN the program is unaffected: no crash, no corrupted data
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "failures 0"


def test_view_io_and_json_export(pipegauge, write_script, workdir):
    # GIVEN a profiled run with file and socket I/O
    write_script(FILE_AND_SOCKET)
    result = pipegauge("run", "-o", "run", "prog.py")
    assert result.returncode == 0, result.stderr
    # WHEN viewed with --io
    view = pipegauge("view", "run", "--io")
    assert view.returncode == 0, view.stderr
    text = view.stdout
    # THEN the per-thread totals and the top functions by I/O are shown
    assert "I/O per thread" in text and "process" in text
    assert "Top functions by I/O" in text
    top = text.split("Top functions by I/O", 1)[1]
    writer_line = next(line for line in top.splitlines() if line.endswith("(writer)"))
    assert "50.0MiB" in writer_line
    assert max(len(line) for line in text.splitlines()) <= 80
    # AND the JSON export carries the per-thread totals
    export = pipegauge("export", "run", "--format", "json", "-o", "out.json")
    assert export.returncode == 0, export.stderr
    document = json.loads((workdir / "out.json").read_text())
    process = document["thread_io"][0]
    assert process["tid"] == 0 and process["wchar"] >= 50 * MB
    assert document["meta"]["io"] == "on"


@pytest.mark.parametrize("flag", [["--io"], []])
def test_view_io_of_a_run_without_io(pipegauge, write_script, flag):
    # GIVEN a run taken with --no-io WHEN viewed (with and without --io)
    write_script("print(sum(range(10)))\n")
    result = pipegauge("run", "--no-io", "-o", "run", "prog.py")
    assert result.returncode == 0, result.stderr
    view = pipegauge("view", "run", *flag)
    # THEN it works, and --io says there is nothing
    assert view.returncode == 0, view.stderr
    assert ("--no-io" in view.stdout) == bool(flag)
