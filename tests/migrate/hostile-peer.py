#!/usr/bin/env python3
"""A peer of `ferry serve` that breaks the protocol on purpose.

Usage: hostile-peer.py HOST PORT CA CERT KEY CASE
Prints what the agent answered (or "closed") and exits 0 when the agent
closed the connection or answered ERROR, 1 when it went on as if nothing
happened.
"""
import json
import socket
import ssl
import struct
import sys

host, port, ca, cert, key, case = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
PRE = b"FERRYMIG" + struct.pack(">HHI", 1, 1, 0)


def rec(t, payload):
    return struct.pack(">II", t, len(payload)) + payload


def tls(sock):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    return ctx.wrap_socket(sock, server_hostname=host)


def answer(s):
    s.settimeout(10)
    try:
        h = s.recv(8)
        if len(h) < 8:
            return "closed"
        t, n = struct.unpack(">II", h)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        return "record %d %s" % (t, body.decode(errors="replace"))
    except (ConnectionError, ssl.SSLError, socket.timeout) as e:
        return "closed (%s)" % e.__class__.__name__


s = socket.create_connection((host, port), timeout=10)
if case == "garbage":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.settimeout(10)
    try:
        got = s.recv(100)
    except ConnectionError:
        got = b""
    print("closed" if not got else "answered")
    sys.exit(0 if not got else 1)
s.sendall(PRE)
s = tls(s)
hello = rec(2, json.dumps({"version": 1, "host": "hostile", "features": {}}).encode())
if case == "unknown-type":
    s.sendall(rec(99, b"{}"))
elif case == "oversized":
    s.sendall(hello)
    answer(s)
    s.sendall(struct.pack(">II", 4, 100 << 20))
elif case == "out-of-order":
    s.sendall(hello)
    answer(s)
    s.sendall(rec(13, b'{"tcp_established": true}'))
elif case == "truncated":
    s.sendall(struct.pack(">II", 2, 100) + b'{"version"')
    s.close()
    print("sent 18 of 108 bytes, hung up")
    sys.exit(0)
elif case == "bad-json":
    s.sendall(rec(2, b'{"version": 1,'))
elif case == "hold":
    # a session that stays open, for a look at the agent's processes
    s.sendall(hello)
    print(answer(s), flush=True)
    print("held", flush=True)
    import time
    time.sleep(8)
    sys.exit(0)
elif case == "path-escape":
    s.sendall(hello)
    answer(s)
    print("hello answered")
    sys.exit(0)
else:
    sys.exit("unknown case " + case)
a = answer(s)
print(a)
sys.exit(0 if a.startswith("closed") or a.startswith("record 1 ") else 1)
