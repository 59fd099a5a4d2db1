#!/usr/bin/env python3
"""What a fleet test asks from inside a network namespace (dig and curl would cost a process a
query; this keeps a 10 ms cadence):
  watch NAME ADDRESS absent|present TIMEOUT SERVER...  the wall-clock time at which each server's
      answer for NAME A first lacks (or holds) ADDRESS: {"server": time}, null for never
  steady NAME SECONDS SERVER...  every distinct answer (sorted addresses) each server gave, asking
      every 100 ms: {"server": [[...], ...]}
  versions ZONE SECONDS SERVER...  each version of ZONE each server transferred (AXFR every 200 ms):
      {"server": [[time, serial, ["owner A address", ...]], ...]}, a new entry when either moved
  gaps NAME SECONDS SERVER       asks every 50 ms (0.2 s timeout): {"gaps": [[from, to], ...],
      "ok": answered, "failed": unanswered}, a gap being a run of unanswered questions
  get URL                        the body of an HTTP GET
Servers are ADDRESS (port 53)."""
import json, random, socket, struct, sys, time, urllib.request


def query(server, name, timeout=0.3):
    qid = random.randint(0, 0xFFFF)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, (server, 53))
        while True:
            r, _ = s.recvfrom(4096)
            if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
                break
    except OSError:
        return None
    finally:
        s.close()
    an = struct.unpack(">H", r[6:8])[0]
    i = 12
    while r[i] != 0:  # the question's name (never compressed)
        i += 1 + r[i]
    i += 5
    out = []
    for _ in range(an):
        while True:  # owner: labels, or a pointer that ends it
            if r[i] & 0xC0 == 0xC0:
                i += 2
                break
            if r[i] == 0:
                i += 1
                break
            i += 1 + r[i]
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(r[i:i + 4]))
        i += rdlen
    return sorted(out)


def name_at(m, i):
    """The name at offset i of message m (compression followed) and the offset after it."""
    labels, end = [], None
    while True:
        n = m[i]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = i + 2
            i = ((n & 0x3F) << 8) | m[i + 1]
        elif n == 0:
            return ".".join(labels) + ".", (end if end is not None else i + 1)
        else:
            labels.append(m[i + 1:i + 1 + n].decode("ascii", "replace").lower())
            i += 1 + n


def axfr(server, zone, timeout=1.0):
    """(serial, sorted A records) of ZONE by AXFR over TCP, or None."""
    q = struct.pack(">HHHHHH", random.randint(0, 0xFFFF), 0, 1, 0, 0, 0)
    for label in zone.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 252, 1)
    try:
        s = socket.create_connection((server, 53), timeout=timeout)
    except OSError:
        return None
    serial, records, soas = None, [], 0
    try:
        s.sendall(struct.pack(">H", len(q)) + q)
        buf = b""
        while soas < 2:
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = s.recv(65536)
                if not chunk:
                    return None
                buf += chunk
            n = struct.unpack(">H", buf[:2])[0]
            m, buf = buf[2:2 + n], buf[2 + n:]
            if m[3] & 0xF != 0:
                return None
            qd, an = struct.unpack(">HH", m[4:8])
            i = 12
            for _ in range(qd):
                _, i = name_at(m, i)
                i += 4
            for _ in range(an):
                owner, i = name_at(m, i)
                rtype, _, _, rdlen = struct.unpack(">HHIH", m[i:i + 10])
                i += 10
                if rtype == 6:
                    soas += 1
                    _, j = name_at(m, i)
                    _, j = name_at(m, j)
                    serial = struct.unpack(">I", m[j:j + 4])[0]
                elif rtype == 1 and rdlen == 4:
                    records.append(owner + " A " + socket.inet_ntoa(m[i:i + 4]))
                i += rdlen
            if an == 0:
                return None
    except (OSError, IndexError, struct.error):
        return None
    finally:
        s.close()
    return serial, sorted(records)


def main():
    mode = sys.argv[1]
    if mode == "watch":
        name, address, want, timeout = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
        servers = sys.argv[6:]
        seen = {s: None for s in servers}
        deadline = time.time() + timeout
        while time.time() < deadline and any(v is None for v in seen.values()):
            for s in servers:
                if seen[s] is not None:
                    continue
                a = query(s, name)
                if a is not None and (address in a) == (want == "present"):
                    seen[s] = time.time()
            time.sleep(0.01)
        print(json.dumps(seen))
    elif mode == "steady":
        name, seconds = sys.argv[2], float(sys.argv[3])
        servers = sys.argv[4:]
        seen = {s: [] for s in servers}
        deadline = time.time() + seconds
        while time.time() < deadline:
            for s in servers:
                a = query(s, name)
                a = a if a is not None else ["no answer"]
                if a not in seen[s]:
                    seen[s].append(a)
            time.sleep(0.1)
        print(json.dumps(seen))
    elif mode == "versions":
        zone, seconds = sys.argv[2], float(sys.argv[3])
        servers = sys.argv[4:]
        seen = {s: [] for s in servers}
        deadline = time.time() + seconds
        while time.time() < deadline:
            for s in servers:
                v = axfr(s, zone)
                if v is not None and (not seen[s] or seen[s][-1][1:] != [v[0], v[1]]):
                    seen[s].append([time.time(), v[0], v[1]])
            time.sleep(0.2)
        print(json.dumps(seen))
    elif mode == "gaps":
        name, seconds, server = sys.argv[2], float(sys.argv[3]), sys.argv[4]
        end = time.time() + seconds
        gaps, down, ok, failed = [], None, 0, 0
        while time.time() < end:
            t = time.time()
            a = query(server, name, timeout=0.2)
            if a:
                ok += 1
                if down is not None:
                    gaps.append([down, t])
                    down = None
            else:
                failed += 1
                if down is None:
                    down = t
            time.sleep(0.05)
        if down is not None:
            gaps.append([down, time.time()])
        print(json.dumps({"gaps": gaps, "ok": ok, "failed": failed}))
    elif mode == "get":
        with urllib.request.urlopen(sys.argv[2], timeout=5) as r:
            sys.stdout.write(r.read().decode())


main()
