#!/usr/bin/env python3
"""oci-image.py — writes an OCI image archive (an image layout in a tar, as
`ctr images import` and `docker load` read it) holding a unikernel for
alb-oci (or urunc), without a registry or a build daemon.

    oci-image.py -o hello.tar --name example.org/hello:1 \\
        --unikernel hello.elf --hypervisor qemu --cmdline '--seconds=3'

The unikernel lands in the image's only layer as /unikernel (or --path);
the urunc annotations (com.urunc.unikernel.*: binary, hypervisor, cmdline,
unikernelType, block, ...) are set on the manifest and as labels of the
image config, and /urunc.json in the layer carries them base64-encoded, as
urunc reads it when the engine does not pass annotations through
(containerd 1.6 does not). --add SRC:DST puts more files in the layer
(a block image, or, without --unikernel, the files of a plain process
image whose --entrypoint runs under runc). Everything is deterministic:
the same inputs give the same digests.
SPDX-License-Identifier: ISC
"""
import argparse
import base64
import hashlib
import io
import os
import json
import sys
import tarfile

URUNC = "com.urunc.unikernel."


def tar_add(tar, name, data, mode):
    info = tarfile.TarInfo(name.lstrip("/"))
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def tar_dirs(tar, paths, done):
    """The parent directories of paths, each once, before the files."""
    for p in paths:
        parts = p.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d in done:
                continue
            done.add(d)
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = 0
            tar.addfile(info)


def layer(files):
    """An uncompressed layer tar of files: [(path, bytes, mode)]."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        tar_dirs(t, [f[0] for f in files], set())
        for path, data, mode in files:
            tar_add(t, path, data, mode)
    return buf.getvalue()


def blob(blobs, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True, help="archive to write")
    ap.add_argument("--name", required=True,
                    help="image reference, e.g. example.org/hello:1")
    ap.add_argument("--unikernel", help="the unikernel file")
    ap.add_argument("--path", default="/unikernel",
                    help="where the unikernel goes in the image")
    ap.add_argument("--hypervisor", choices=["hvt", "spt", "qemu"],
                    help="what runs it (default: alb-oci reads the Solo5 notes)")
    ap.add_argument("--type", default="solo5",
                    help="unikernelType annotation (mirage, solo5, ...)")
    ap.add_argument("--cmdline", help="the unikernel's command line")
    ap.add_argument("--block", help="path in the image of a block device file")
    ap.add_argument("--annotation", action="append", default=[],
                    metavar="KEY=VALUE", help="another annotation")
    ap.add_argument("--add", action="append", default=[], metavar="SRC:DST",
                    help="another file in the layer (mode kept)")
    ap.add_argument("--entrypoint", action="append", default=[],
                    help="process arguments (plain images)")
    ap.add_argument("--arch", default="amd64")
    a = ap.parse_args()

    ann = {}
    files = []
    if a.unikernel:
        with open(a.unikernel, "rb") as f:
            files.append((a.path, f.read(), 0o644))
        ann[URUNC + "binary"] = a.path
        ann[URUNC + "unikernelType"] = a.type
        if a.hypervisor:
            ann[URUNC + "hypervisor"] = a.hypervisor
        if a.cmdline is not None:
            ann[URUNC + "cmdline"] = a.cmdline
        if a.block:
            ann[URUNC + "block"] = a.block
    for kv in a.annotation:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            sys.exit("oci-image: --annotation wants KEY=VALUE, got " + kv)
        ann[k] = v
    for sd in a.add:
        src, sep, dst = sd.rpartition(":")
        if not sep or not dst.startswith("/"):
            sys.exit("oci-image: --add wants SRC:/DST, got " + sd)
        with open(src, "rb") as f:
            files.append((dst, f.read(), os.stat(src).st_mode & 0o7777))
    urunc = {k: base64.b64encode(v.encode()).decode()
             for k, v in ann.items() if k.startswith(URUNC)}
    if urunc:
        files.append(("/urunc.json", canonical(urunc), 0o644))
    if not files:
        sys.exit("oci-image: nothing to put in the image")

    blobs = {}
    lay = layer(files)
    diff_id = "sha256:" + hashlib.sha256(lay).hexdigest()
    layer_desc = blob(blobs, lay, "application/vnd.oci.image.layer.v1.tar")
    cfg = {"architecture": a.arch, "os": "linux",
           "config": {"Labels": ann} if ann else {},
           "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    if a.entrypoint:
        cfg["config"]["Entrypoint"] = a.entrypoint
    cfg_desc = blob(blobs, canonical(cfg),
                    "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg_desc, "layers": [layer_desc]}
    if ann:
        manifest["annotations"] = ann
    man_desc = blob(blobs, canonical(manifest),
                    "application/vnd.oci.image.manifest.v1+json")
    man_desc["annotations"] = {"io.containerd.image.name": a.name,
                               "org.opencontainers.image.ref.name": a.name}
    man_desc["platform"] = {"architecture": a.arch, "os": "linux"}
    index = {"schemaVersion": 2, "manifests": [man_desc]}

    with open(a.output, "wb") as out, \
            tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        tar_add(t, "oci-layout", canonical({"imageLayoutVersion": "1.0.0"}),
                0o644)
        tar_add(t, "index.json", canonical(index), 0o644)
        for digest in sorted(blobs):
            tar_add(t, "blobs/sha256/" + digest.split(":")[1], blobs[digest],
                    0o644)


if __name__ == "__main__":
    main()
