#!/usr/bin/env python3
"""A minimal consumer of xentt trace streams (docs/trace-stream.md), stdlib only.

Listens at a unix socket, takes one producer (trace_task --stream,
bts_extract --send) after another, answers its hello, reads the trace log
as it arrives frame by frame (checking both CRCs of every frame), prints
the log's JSON header and a line per frame, and answers with a receipt.

    xtl_consumer.py unix:PATH [--count N] [-o FILE] [--json] [--close-after BYTES]

--json prints one summary object per stream instead (frame counts by
type, branch records, bytes, whether the End frame came); -o keeps the
log bytes; --close-after closes the connection after that many log bytes
(0: right after accepting), to try how a producer takes a consumer that
goes away.
"""
import argparse
import json
import os
import socket
import struct
import sys
import zlib

MAGIC = b"\x89XTS\r\n\x1a\n"      # control messages
SIGNATURE = b"\x89XTL\r\n\x1a\n"  # the trace log (docs/trace-log.md)
PROTOCOL = 1
TYPES = {1: "header", 2: "branches", 3: "marker", 4: "index", 5: "end"}


def recv_exact(conn, n):
    """n bytes, or fewer if the producer shut its side down first."""
    out = b""
    while len(out) < n:
        got = conn.recv(n - len(out))
        if not got:
            break
        out += got
    return out


def message(obj):
    body = json.dumps(obj).encode()
    return MAGIC + struct.pack("<II", PROTOCOL, len(body)) + body


def read_message(conn):
    env = recv_exact(conn, 16)
    if len(env) < 16 or env[:8] != MAGIC:
        raise ValueError("not an xtl stream")
    version, length = struct.unpack("<II", env[8:])
    if length > 65536:
        raise ValueError("control message too long")
    return version, json.loads(recv_exact(conn, length))


def serve_one(conn, args):
    version, hello = read_message(conn)
    if version != PROTOCOL or hello.get("type") != "hello":
        conn.sendall(message({"type": "refuse", "reason": f"this consumer speaks protocol {PROTOCOL}"}))
        return None
    conn.sendall(message({"type": "accept"}))
    if args.close_after == 0:
        return None
    out = open(args.output, "wb") if args.output else None
    prefix = recv_exact(conn, 16)
    if prefix[:8] != SIGNATURE or struct.unpack("<I", prefix[8:12])[0] != 1:
        raise ValueError("not a version-1 trace log")
    got, frames, branches, ended, header = 16, {}, 0, False, None
    if out:
        out.write(prefix)
    while True:
        hdr = recv_exact(conn, 16)
        if not hdr:
            break  # the producer shut down: the end of the stream
        if len(hdr) < 16:
            raise ValueError(f"offset {got}: stream cut in a frame header")
        ftype, enc, vcpu, length, crc, hcrc = struct.unpack("<BBHIII", hdr)
        if zlib.crc32(hdr[:12]) != hcrc:
            raise ValueError(f"offset {got}: damaged frame header")
        payload = recv_exact(conn, length)
        if len(payload) < length or zlib.crc32(payload, zlib.crc32(hdr[:8])) != crc:
            raise ValueError(f"offset {got}: cut or damaged frame")
        name = TYPES.get(ftype, f"type{ftype}")
        frames[name] = frames.get(name, 0) + 1
        if ftype == 1:
            header = json.loads(payload)
            if not args.json:
                print("header:", json.dumps(header))
        elif ftype == 2:
            count = struct.unpack_from("<I", payload, 24)[0]
            branches += count
            if not args.json:
                first = struct.unpack_from("<Q", payload, 0)[0]
                print(f"offset {got}: branches vcpu {vcpu}: {count} records from brctr {first}")
        elif not args.json:
            print(f"offset {got}: {name} ({length} bytes)")
        ended = ftype == 5
        got += 16 + length
        if out:
            out.write(hdr + payload)
        if args.close_after is not None and got >= args.close_after:
            return None
    if out:
        out.close()
    conn.sendall(message({"type": "receipt", "saved": bool(args.output), "complete": ended, "bytes": got,
                          "file": args.output or ""}))
    return {"producer": hello.get("producer"), "header": header, "frames": frames, "branches": branches,
            "bytes": got, "complete": ended}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("listen", help="unix:PATH")
    ap.add_argument("--count", type=int, default=1, help="producers to serve, one after another")
    ap.add_argument("-o", "--output", help="write the log bytes here")
    ap.add_argument("--json", action="store_true", help="one summary object per stream")
    ap.add_argument("--close-after", type=int, help="close after this many log bytes (0: after accepting)")
    args = ap.parse_args()
    if not args.listen.startswith("unix:"):
        sys.exit("xtl_consumer.py: want unix:PATH")
    path = args.listen[5:]
    if os.path.exists(path):
        sys.exit(f"xtl_consumer.py: {path} exists: not replacing it")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    srv.bind(path)
    os.umask(old)
    srv.listen(4)
    try:
        for _ in range(args.count):
            conn, _ = srv.accept()
            with conn:
                try:
                    summary = serve_one(conn, args)
                except (ValueError, ConnectionError) as e:
                    print(f"xtl_consumer.py: {e}", file=sys.stderr)
                    continue
                if summary and args.json:
                    print(json.dumps(summary), flush=True)
                elif summary:
                    print(f"end: {summary['bytes']} bytes, complete: {summary['complete']}", flush=True)
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
