"""Loaded by every process of the rehearsal (on PYTHONPATH): no connection leaves the machine.

Connections and name look-ups of a host that is not loopback are refused (as if the network were
down) and recorded, one line each, in the file named by REHEARSAL_NETWORK_LOG, which the
rehearsal's tests read: any line there fails them. Each process it is loaded into adds its
command line to that file's `.loaded` companion, so the tests can tell the guard was there.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("REHEARSAL_NETWORK_LOG", "")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _loopback(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what, host):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()} {what} {host!r}\n")
    raise ConnectionRefusedError(f"the rehearsal refuses non-loopback {what} to {host!r}")


def _address_host(address):
    if isinstance(address, tuple) and address:
        return address[0]
    return None  # AF_UNIX paths and the like stay on the machine


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def connect(self, address):
    host = _address_host(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(host):
        _refuse("connect", host)
    return _connect(self, address)


def connect_ex(self, address):
    host = _address_host(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(host):
        _refuse("connect", host)
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        _refuse("name look-up", host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo


def _loaded():
    try:
        with open("/proc/self/cmdline", "rb") as cmdline:
            command = cmdline.read().decode(errors="replace").replace("\0", " ")
        command = " ".join(command.split())
    except OSError:
        command = "?"
    with open(_LOG + ".loaded", "a", encoding="utf-8") as log:
        log.write(f"pid {os.getpid()}: {command[:300]}\n")


if _LOG:
    _loaded()
