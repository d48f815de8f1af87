#!/usr/bin/env python3
"""Traffic for the miss-handling benchmark (misses.mjs): new UDP connections from one
network namespace into a datapath port, and their arrival in another namespace.

One process holds a raw (AF_PACKET) socket on each side: it enters the sender's
namespace to open one and the receiver's to open the other (setns through libc), so it
can time a packet from send to arrival. Every packet carries a marker and its number;
each connection has its own UDP source port, so each first packet misses in the kernel.

  missgen.py SEND_NS RECV_NS SRC_MAC DST_MAC rate N PORT_BASE
      N first packets back to back; prints {"sent", "received", "seconds", "lost"}:
      seconds from the first send to the last arrival.
  missgen.py SEND_NS RECV_NS SRC_MAC DST_MAC latency K PORT_BASE
      K times: a first packet of a new connection, then a second one of the same;
      prints {"first": [ms...], "second": [ms...], "lost": n}.
"""
import ctypes
import json
import os
import socket
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
MARK = b'OVSDPBEN'
SRC_IP = socket.inet_aton('10.77.0.1')
# Nobody has this address: the receiver's IP stack drops the packets without answering.
DST_IP = socket.inet_aton('10.77.0.99')
DST_PORT = 7777

libc = ctypes.CDLL('libc.so.6', use_errno=True)


def raw_socket_in(ns):
    """An AF_PACKET socket on eth0 of network namespace `ns` (the socket keeps it)."""
    own = os.open('/proc/self/ns/net', os.O_RDONLY)
    target = os.open(f'/run/netns/{ns}', os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f'setns {ns}')
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        s.bind(('eth0', 0))
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(own)
        os.close(target)
    return s


def checksum(data):
    total = sum(struct.unpack(f'!{len(data) // 2}H', data))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(src_mac, dst_mac, sport, seq):
    payload = MARK + struct.pack('!I', seq) + bytes(18)
    udp = struct.pack('!HHHH', sport, DST_PORT, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0, SRC_IP, DST_IP))
    ip[10:12] = struct.pack('!H', checksum(bytes(ip)))
    return dst_mac + src_mac + b'\x08\x00' + bytes(ip) + udp


class Receiver(threading.Thread):
    """Notes the arrival time of every marked packet, by its number."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.arrived = {}
        self.cond = threading.Condition()

    def run(self):
        while True:
            data = self.sock.recv(2048)
            now = time.monotonic()
            at = data.find(MARK)
            if at < 0 or len(data) < at + 12:
                continue
            (seq,) = struct.unpack('!I', data[at + 8:at + 12])
            with self.cond:
                self.arrived.setdefault(seq, now)
                self.cond.notify_all()

    def wait_for(self, seq, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while seq not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrived[seq]


def main():
    send_ns, recv_ns, src_mac, dst_mac, mode, count, base = sys.argv[1:8]
    src_mac = bytes.fromhex(src_mac.replace(':', ''))
    dst_mac = bytes.fromhex(dst_mac.replace(':', ''))
    count, base = int(count), int(base)
    tx = raw_socket_in(send_ns)
    rx = Receiver(raw_socket_in(recv_ns))
    rx.start()
    if mode == 'rate':
        frames = [frame(src_mac, dst_mac, base + i, i) for i in range(count)]
        t0 = time.monotonic()
        for f in frames:
            tx.send(f)
        # Done when nothing new has arrived for a while (misses the kernel dropped never do).
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 3:
            time.sleep(0.1)
            with rx.cond:
                n = len(rx.arrived)
            if n != seen:
                seen, quiet_since = n, time.monotonic()
            if n == count:
                break
        with rx.cond:
            times = list(rx.arrived.values())
        last = max(times) if times else t0
        print(json.dumps({'sent': count, 'received': len(times), 'lost': count - len(times), 'seconds': last - t0}))
    else:
        first, second, lost = [], [], 0
        for i in range(count):
            sport = base + i
            for kind, seq, out in (('first', 2 * i, first), ('second', 2 * i + 1, second)):
                t0 = time.monotonic()
                tx.send(frame(src_mac, dst_mac, sport, seq))
                t1 = rx.wait_for(seq, 5)
                if t1 is None:
                    lost += 1
                else:
                    out.append((t1 - t0) * 1000)
                time.sleep(0.05)
        print(json.dumps({'first': first, 'second': second, 'lost': lost}))


main()
