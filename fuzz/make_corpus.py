#!/usr/bin/env python3
"""Writes the seed corpora of the TCP fuzz targets into fuzz/corpus/.

Each seed is a plausible byte stream from one side of an NVMe/TCP
connection: the IC exchange, then commands or data. Run it again after
changing it; the seeds are committed."""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))



def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def ch(t, flags, hlen, pdo, plen):
    return struct.pack("<BBBBI", t, flags, hlen, pdo, plen)


def icreq(dgst=0):
    return ch(0, 0, 128, 0, 128) + struct.pack("<HBBI", 0, 0, dgst, 0) + bytes(112)


def icresp(dgst=0, maxh2c=8192):
    return ch(1, 0, 128, 0, 128) + struct.pack("<HBBI", 0, 0, dgst, maxh2c) + bytes(112)


def sqe(opcode, cid, sgl_type, length):
    s = struct.pack("<BBHI", opcode, 0x40, cid, 1) + bytes(16)
    s += struct.pack("<QI3xB", 0, length, sgl_type) + bytes(24)
    assert len(s) == 64
    return s


def capsule_cmd(opcode, cid, icd=b"", hd=False, dd=False, length=None):
    sgl = 0x01 if icd else 0x5A
    length = len(icd) if length is None else length
    hdr_len = 72 + (4 if hd else 0)
    plen = hdr_len + len(icd) + (4 if dd and icd else 0)
    flags = (1 if hd else 0) | (2 if dd and icd else 0)
    h = ch(4, flags, 72, hdr_len if icd else 0, plen) + sqe(opcode, cid, sgl, length)
    out = h + (struct.pack("<I", crc32c(h)) if hd else b"")
    if icd:
        out += icd + (struct.pack("<I", crc32c(icd)) if dd else b"")
    return out


def h2c(cid, ttag, off, data, last=True):
    h = ch(6, 4 if last else 0, 24, 24, 24 + len(data)) + struct.pack(
        "<HHII4x", cid, ttag, off, len(data))
    return h + data


def c2h(cid, off, data, last=True, success=False):
    flags = (4 if last else 0) | (8 if success else 0)
    h = ch(7, flags, 24, 24, 24 + len(data)) + struct.pack("<H2xII4x", cid, off, len(data))
    return h + data


def r2t(cid, ttag, off, length):
    return ch(9, 0, 24, 0, 24) + struct.pack("<HHII4x", cid, ttag, off, length)


def resp(cid, status=0):
    return ch(5, 0, 24, 0, 24) + struct.pack("<IIHHHH", 0, 0, 0, 1, cid, status)


def termreq(t, fes):
    return ch(t, 0, 24, 0, 24) + struct.pack("<HI", fes, 0) + bytes(10)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


ctrl = "tcp_controller_fuzz"
write(ctrl, "icreq", icreq())
write(ctrl, "icreq_digests", icreq(3))
write(ctrl, "admin_cmd", icreq() + capsule_cmd(0x06, 1, length=0))
write(ctrl, "icd_write", icreq() + capsule_cmd(0x01, 2, icd=bytes(range(256)) * 4))
write(ctrl, "icd_write_digests",
      icreq(3) + capsule_cmd(0x01, 2, icd=b"\x5a" * 512, hd=True, dd=True))
write(ctrl, "r2t_write", icreq() + capsule_cmd(0x01, 3, length=4096)
      + h2c(3, 0, 0, b"\x11" * 2048) + h2c(3, 0, 2048, b"\x22" * 2048))
write(ctrl, "read", icreq() + capsule_cmd(0x02, 4, length=16384))
write(ctrl, "termreq", icreq() + termreq(2, 1))
write(ctrl, "pipeline", icreq() + b"".join(capsule_cmd(0x02, i, length=512) for i in range(8)))

host = "tcp_host_fuzz"
write(host, "icresp", icresp())
write(host, "icresp_digests", icresp(3))
write(host, "read_data", icresp() + c2h(1, 0, b"\x33" * 65536) + resp(1))
write(host, "read_success", icresp() + c2h(1, 0, b"\x33" * 32768, last=False)
      + c2h(1, 32768, b"\x44" * 32768, last=True, success=True))
write(host, "write_r2t", icresp() + r2t(2, 7, 0, 65536) + resp(2))
write(host, "responses", icresp() + resp(3) + resp(2, 0x4) + resp(1))
write(host, "termreq", icresp() + termreq(3, 2))

# auth_fuzz: a flags byte, then chunks (le16 length, bytes) whose first
# byte says what to do with the next message (0 keep, 1 XOR, 2 replace).
def chunk(b):
    return struct.pack("<H", len(b)) + b


def negotiate(t_id=0x1234, sc_c=0, hashes=(1, 2, 3), dhgroups=(0, 1, 2, 3, 4, 5), authid=1):
    ids = bytes(hashes).ljust(30, b"\0") + bytes(dhgroups).ljust(30, b"\0")
    return (struct.pack("<BBHHBB", 0, 0, 0, t_id, sc_c, 1)
            + struct.pack("<BBBB", authid, 0, len(hashes), len(dhgroups)) + ids)


auth = "auth_fuzz"
write(auth, "null_one_way", bytes([0x00]))
write(auth, "null_bidirectional", bytes([0x03]))
write(auth, "ffdhe2048_bidirectional", bytes([0x07]))
write(auth, "sha512_bidirectional", bytes([0x1b]))
write(auth, "wrong_host_key", bytes([0x20]))
write(auth, "wrong_ctrl_key", bytes([0x43]))
write(auth, "small_al_ffdhe2048", bytes([0x84]))
write(auth, "negotiate_sc_c", bytes([0x00]) + chunk(b"\x02" + negotiate(sc_c=1)))
write(auth, "negotiate_no_dhchap", bytes([0x00]) + chunk(b"\x02" + negotiate(authid=2)))
write(auth, "reply_r1_flipped", bytes([0x00]) + chunk(b"") + chunk(b"")
      + chunk(b"\x01" + bytes(16) + b"\x01"))
write(auth, "renegotiate_after_success", bytes([0x03]) + chunk(b"") * 5
      + chunk(b"\x01" + negotiate(t_id=7))
      + chunk(b"\x00" + struct.pack("<BBHHBB", 0, 0xF1, 0, 7, 1, 1)))
