#!/usr/bin/env python3
"""alb-tlsd started the way alb-tlsd.socket starts it: a listening TCP
socket on file descriptor 3 with LISTEN_FDS and LISTEN_PID, and the
--systemd-socket-activation flag. A client with a chain made by alb-ca
completes a TLS 1.3 handshake and gets a framed reply (a Failure: no albd
runs here), so the passed socket is the one served.

usage: check_tlsd_activation.py ALB_TLSD ALB_CA
"""
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile


def main():
    tlsd, ca = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        for args in (["generate", "testca", "ca.db"],
                     ["add-policy-csr", "--bridge", "br0", "team", "1"],
                     ["sign", "cacert.pem", "ca.db", "testca.key", "team.req"]):
            subprocess.run([ca, *args], cwd=d, check=True, env=env,
                           stdout=subprocess.DEVNULL)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        fd = listener.fileno()

        def as_systemd():
            os.dup2(fd, 3)
            os.set_inheritable(3, True)
            os.environ["LISTEN_FDS"] = "1"
            os.environ["LISTEN_PID"] = str(os.getpid())

        p = subprocess.Popen([tlsd, "--systemd-socket-activation", "--tmpdir", d,
                              "cacert.pem", "server.pem", "server.key"], cwd=d,
                             preexec_fn=as_systemd, close_fds=False,
                             stderr=subprocess.PIPE, text=True)
        listener.close()
        try:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            ctx.load_verify_locations(os.path.join(d, "cacert.pem"))
            ctx.load_cert_chain(os.path.join(d, "team.pem"), os.path.join(d, "team.key"))
            with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
                with ctx.wrap_socket(raw) as tls:
                    version = tls.version()
                    head = b""
                    while len(head) < 4:
                        chunk = tls.recv(4 - len(head))
                        if not chunk:
                            break
                        head += chunk
            if len(head) != 4 or struct.unpack(">i", head)[0] <= 0:
                print(f"no framed reply over {version} (got {head!r})")
                return 1
            print(f"alb-tlsd served the passed socket: {version}, a reply of "
                  f"{struct.unpack('>i', head)[0]} bytes")
            return 0
        finally:
            p.terminate()
            _, err = p.communicate(timeout=20)
            if err.strip():
                print("alb-tlsd said: " + err.strip())


if __name__ == "__main__":
    sys.exit(main())
