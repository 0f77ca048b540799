#!/usr/bin/env bash
# Makes the seed corpora of the fuzz targets from the golden vectors
# (../shared/vectors, or $ALB_VECTORS_DIR):
#   corpus/wire/   wire messages and certificate extension payloads (every
#                  vector of kind wire or cert, and transcript frames)
#   corpus/state/  state files of every format
#   corpus/frame/  byte streams as a peer sends them, each behind the 5-byte
#                  prefix fuzz_frame.c reads (options, split seed)
# Vectors larger than MAX_SEED bytes are left out: small seeds mutate faster.
set -euo pipefail
cd "$(dirname "$0")"
vec=${ALB_VECTORS_DIR:-../../../shared/vectors}
[ -f "$vec/MANIFEST.tsv" ] || { echo "no vectors in $vec" >&2; exit 1; }
rm -rf corpus/wire corpus/state corpus/frame
mkdir -p corpus/wire corpus/state corpus/frame
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
PY
echo "corpus: $(ls corpus/wire | wc -l) wire, $(ls corpus/state | wc -l) state, $(ls corpus/frame | wc -l) frame seeds"
