"""A TLS endpoint in front of the local Docker socket, for berth's end-to-end tests.

Serves TLS on 127.0.0.1 (a free port, printed on the first line of stdout), requires a client
certificate signed by the given CA, and forwards each connection's bytes to the Docker socket:
the real engine, reached as a remote `tcp://` + TLS `DOCKER_HOST` would be. Listens on loopback
only, and runs until it is killed.

Usage: tls_proxy.py CA_PEM SERVER_CERT_PEM SERVER_KEY_PEM DOCKER_SOCKET
"""

import select
import socket
import ssl
import sys
import threading

ca, cert, key, docker_socket = sys.argv[1:5]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.load_verify_locations(ca)
context.verify_mode = ssl.CERT_REQUIRED

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
print(server.getsockname()[1], flush=True)


def forward(client):
    try:
        tls = context.wrap_socket(client, server_side=True)
    except (ssl.SSLError, OSError):
        client.close()
        return
    upstream = socket.socket(socket.AF_UNIX)
    upstream.connect(docker_socket)
    try:
        while True:
            readable, _, _ = select.select([tls, upstream], [], [], 120)
            if not readable:
                break
            if tls in readable:
                data = tls.recv(65536)
                if not data:
                    break
                while tls.pending():
                    data += tls.recv(tls.pending())
                upstream.sendall(data)
            if upstream in readable:
                data = upstream.recv(65536)
                if not data:
                    break
                tls.sendall(data)
    except (ssl.SSLError, OSError):
        pass
    finally:
        for s in (tls, upstream):
            try:
                s.close()
            except OSError:
                pass


while True:
    connection, _ = server.accept()
    threading.Thread(target=forward, args=(connection,), daemon=True).start()
