#!/usr/bin/env bash
# Makes the seed corpora of the fuzz targets from the golden vectors
# (../shared/vectors, or $ALB_VECTORS_DIR):
#   corpus/wire/   wire messages and certificate extension payloads (every
#                  vector of kind wire or cert, and transcript frames)
#   corpus/state/  state files of every format
#   corpus/frame/  byte streams as a peer sends them, each behind the 5-byte
#                  prefix fuzz_frame.c reads (options, split seed)
#   corpus/journal/ journal segments: the entries of the current-format state
#                  vectors as records (doc/journal.md), gone records, one
#                  torn at the end
# Vectors larger than MAX_SEED bytes are left out: small seeds mutate faster.
set -euo pipefail
cd "$(dirname "$0")"
vec=${ALB_VECTORS_DIR:-../../../shared/vectors}
[ -f "$vec/MANIFEST.tsv" ] || { echo "no vectors in $vec" >&2; exit 1; }
rm -rf corpus/wire corpus/state corpus/frame corpus/journal
mkdir -p corpus/wire corpus/state corpus/frame corpus/journal
python3 - "$vec" <<'PY'
import os, struct, sys, zlib
vec = sys.argv[1]
MAX_SEED = 8192

def put(d, name, data):
    if len(data) <= MAX_SEED:
        with open(os.path.join("corpus", d, name), "wb") as f:
            f.write(data)

def read(path):
    with open(os.path.join(vec, path), "rb") as f:
        return f.read()

for line in open(os.path.join(vec, "MANIFEST.tsv")):
    if line.startswith("#") or not line.strip():
        continue
    name, kind, _expect, path = line.split("\t")[:4]
    put("state" if kind == "state" else "wire", name, read(path))
tdir = os.path.join(vec, "transcripts")
put("state", "final-state", read("transcripts/final-state.der"))
for t in sorted(os.listdir(tdir)):
    p = os.path.join(tdir, t)
    if os.path.isdir(p):
        for f in sorted(os.listdir(p))[:8]:
            if f.endswith(".der"):
                put("wire", t + "-" + f[:-4], read(os.path.join("transcripts", t, f)))

# ---- frame streams: options byte, 4 seed bytes, then the bytes ----
COMPRESSED, SPACE_API = 0x01, 0x02
MAX64, MAX4K, MAX64K, MAXDEF = 0 << 2, 1 << 2, 2 << 2, 3 << 2

def frame(b):
    return struct.pack(">I", len(b)) + b

def stream(opt, seed, body):
    return bytes([opt]) + struct.pack(">I", seed) + body

def msgs(*names):
    return b"".join(frame(read(n + ".der")) for n in names)

END = frame(b"")
put("frame", "commands", stream(MAX4K, 1, msgs("cmd_unikernel_info", "cmd_console_subscribe_count", "cmd_block_dump") + END))
put("frame", "replies-space", stream(MAX4K | SPACE_API, 7, msgs("reply_unikernel_info", "reply_policies", "failure") + END))
put("frame", "small-max", stream(MAX64, 3, msgs("cmd_unikernel_create_full", "cmd_policy_info")))
put("frame", "end-negative", stream(MAXDEF, 9, msgs("reply_empty") + b"\xff\xff\xff\xff" + msgs("reply_string")))
put("frame", "too-big", stream(MAX64, 5, struct.pack(">I", 65) + b"x" * 65))
t7 = "transcripts/07-set-block/"
put("frame", "set-block", stream(MAX4K, 11, frame(read(t7 + "01-001-c2s.der")) + frame(read(t7 + "01-002-c2s.der")) + END))
t8 = "transcripts/08-dump-block/"
put("frame", "dump-block", stream(MAX64K | SPACE_API, 13, b"".join(frame(read(t8 + "01-%03d-s2c.der" % i)) for i in (2, 3))))
text = b"".join(b"line %d of a block device, compressed\n" % i for i in range(200))
z = zlib.compress(text, 9)
chunks = [z[i:i + 97] for i in range(0, len(z), 97)]
put("frame", "zlib-chunks", stream(MAX4K | COMPRESSED, 17, b"".join(frame(c) for c in chunks) + END))
put("frame", "zlib-chunks-space", stream(MAX64K | COMPRESSED | SPACE_API, 19, b"".join(frame(c) for c in chunks) + END))
put("frame", "zlib-truncated", stream(MAX4K | COMPRESSED, 23, frame(z[:len(z) // 2]) + END))
put("frame", "zlib-trailing", stream(MAX4K | COMPRESSED, 29, frame(z + b"\0") + END))
bomb = zlib.compress(b"\0" * (2 << 20), 9)
put("frame", "zlib-bomb", stream(MAX4K | COMPRESSED, 31, b"".join(frame(bomb[i:i + 4000]) for i in range(0, len(bomb), 4000)) + END))

# ---- journal segments ----
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff

def der_len(n):
    if n < 0x80:
        return bytes([n])
    o = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(o)]) + o

def tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body

def record(kind, body):
    head_and_body = tlv(0xa0 | kind, body)
    outer_len = len(head_and_body) + 6
    pre = bytes([0x30]) + der_len(outer_len) + head_and_body
    return pre + b"\x04\x04" + crc32c(pre).to_bytes(4, "big")

def elements(b):
    # the elements of a DER value's contents
    out, i = [], 0
    while i < len(b):
        n = b[i + 1]
        if n & 0x80:
            k = n & 0x7f
            n, h = int.from_bytes(b[i + 2:i + 2 + k], "big"), 2 + k
        else:
            h = 2
        out.append(b[i:i + h + n])
        i += h + n
    return out

def contents(v):
    n = v[1]
    return v[2 + (n & 0x7f):] if n & 0x80 else v[2:]

for name in sorted(os.listdir("corpus/state")):
    data = open(os.path.join("corpus/state", name), "rb").read()
    if not data or data[0] != 0xa6:
        continue
    try:
        uks, pols = elements(contents(elements(contents(data))[0]))
        recs = [record(0, e) for e in elements(contents(uks))]
        recs += [record(2, e) for e in elements(contents(pols))]
    except (IndexError, ValueError):
        continue
    if not recs:
        continue
    recs.append(record(1, tlv(0x0c, b":gone")))
    recs.append(record(3, tlv(0x0c, b"gone:")))
    put("journal", name, b"".join(recs))
    put("journal", name + "-torn", b"".join(recs)[:-3])
PY
echo "corpus: $(ls corpus/wire | wc -l) wire, $(ls corpus/state | wc -l) state, $(ls corpus/frame | wc -l) frame, $(ls corpus/journal | wc -l) journal seeds"
