"""The few programs the offline images need that Debian does not ship as wanted.

* ``pause``: the sandbox's init, sleeping until SIGTERM/SIGINT and reaping
  children (PID 1 ignores SIGTERM unless it installs a handler).
* ``nslookup``: the lookup busybox 1.28 did (``getaddrinfo``, so glibc's
  resolver applies resolv.conf's ``search`` list and ``ndots`` to every name,
  dotted or not, and ``/etc/hosts``), printing what busybox 1.28.4 prints.
  Debian's busybox 1.35 carries the rewritten nslookup, which sends its own
  queries and skips the search list for any name with a dot (``web-0.nginx``).
* ``wget``: a wrapper, because Debian's busybox 1.35 is built without
  FEATURE_WGET_TIMEOUT and ``wget -T N`` (``--timeout=N``) then writes through a
  NULL pointer and segfaults; the wrapper applies the timeout with ``timeout``.

The C programs are compiled with the host's gcc against the host's glibc; the
images carry Debian's libc6 of the same release.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess

PAUSE_C = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
    signal(SIGTERM, stop); signal(SIGINT, stop); signal(SIGCHLD, reap);
    for (;;) pause();
}
"""

NSLOOKUP_C = r"""
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Points the resolver at SERVER (numeric IPv4) instead of resolv.conf's nameservers. */
static int use_server(const char *server) {
    struct in_addr addr;
    if (inet_pton(AF_INET, server, &addr) != 1) return -1;
    _res.nscount = 1;
    _res.nsaddr_list[0].sin_family = AF_INET;
    _res.nsaddr_list[0].sin_port = htons(53);
    _res.nsaddr_list[0].sin_addr = addr;
    return 0;
}

static void print_address(unsigned n, const struct sockaddr *sa, socklen_t len) {
    char ip[INET6_ADDRSTRLEN] = "", host[NI_MAXHOST];
    getnameinfo(sa, len, ip, sizeof ip, NULL, 0, NI_NUMERICHOST);
    if (getnameinfo(sa, len, host, sizeof host, NULL, 0, NI_NAMEREQD) == 0)
        printf("Address %u: %s %s\n", n, ip, host);
    else
        printf("Address %u: %s\n", n, ip);
}

/* Header line, then one "Address N:" line per address, each with its reverse name when it has one. */
static int print_host(const char *name, const char *header) {
    struct addrinfo hints, *res, *cur;
    unsigned n = 0;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM; /* one entry per address, not one per socket type */
    if (getaddrinfo(name, NULL, &hints, &res) != 0) {
        fprintf(stderr, "nslookup: can't resolve '%s'\n", name);
        return 1;
    }
    printf("%-10s %s\n", header, name);
    for (cur = res; cur; cur = cur->ai_next) print_address(++n, cur->ai_addr, cur->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int main(int argc, char **argv) {
    char server[INET6_ADDRSTRLEN] = "";
    if (argc < 2 || argc > 3 || argv[1][0] == '-') {
        fprintf(stderr, "Usage: nslookup HOST [DNS_SERVER]\n\nQuery the nameserver for the IP address of the given HOST\n"
                        "optionally using a specified DNS server\n");
        return 1;
    }
    res_init();
    if (argc == 3 && use_server(argv[2]) != 0) {
        fprintf(stderr, "nslookup: bad address '%s'\n", argv[2]);
        return 1;
    }
    inet_ntop(AF_INET, &_res.nsaddr_list[0].sin_addr, server, sizeof server);
    print_host(server, "Server:");
    putchar('\n');
    if (argc == 3) use_server(argv[2]); /* the lookups above may have re-read resolv.conf */
    return print_host(argv[1], "Name:");
}
"""

WGET_SH = r"""#!/bin/sh
# pyk8s: Debian's busybox 1.35 lacks FEATURE_WGET_TIMEOUT, so its own -T/--timeout segfaults.
# Strip the timeout option and enforce it with `timeout` around busybox wget instead.
limit=
count=$#
while [ "$count" -gt 0 ]; do
    arg=$1; shift; count=$((count - 1))
    case $arg in
        -T|--timeout) limit=$1; shift; count=$((count - 1)) ;;
        -T*) limit=${arg#-T} ;;
        --timeout=*) limit=${arg#--timeout=} ;;
        *) set -- "$@" "$arg" ;;
    esac
done
[ -n "$limit" ] || exec /bin/busybox wget "$@"
# ash reports "Terminated" on its own stderr when a job it waits for is killed: send that to /dev/null
# and give wget the real stderr (fd 3) in the background child only.
exec 3>&2 2>/dev/null
/bin/busybox timeout "$limit" /bin/busybox wget "$@" 2>&3 &
wait $!
rc=$?
exec 2>&3 3>&-
if [ "$rc" -eq 143 ]; then
    echo "wget: download timed out" >&2
    exit 1
fi
exit "$rc"
"""


class ToolchainError(RuntimeError):
    pass


def gcc_available() -> bool:
    return shutil.which("gcc") is not None


def compile_c(source: str, out: pathlib.Path, *, static: bool = False) -> bytes:
    """Compiles ``source`` with gcc; returns the stripped binary."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise ToolchainError("gcc is needed to build the offline images (scripts/setup.sh installs it)")
    src = out.with_suffix(".c")
    src.write_text(source)
    cmd = [gcc, "-Os", "-s", "-o", str(out), str(src)]
    if static:
        cmd.insert(1, "-static")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"gcc failed: {proc.stderr.strip()}")
    return out.read_bytes()
