#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# An MS-KKDCP KDC proxy for tests: FreeIPA's kdcproxy WSGI application
# (python3-kdcproxy) behind wsgiref, with TLS, on 127.0.0.1.
#
#   kdcproxy-server.py CERT KEY CONFIG PORTFILE LOGFILE
#
# CONFIG is kdcproxy's own configuration (KDCPROXY_CONFIG: which KDC serves
# which realm). The port it listens on is written to PORTFILE once it
# listens; each request it forwards is logged to LOGFILE as
# "REQUEST <realm> <AS-REQ|TGS-REQ|KPASSWD-REQ>", so that a test can see
# what went through the proxy. Runs until killed.
import io
import os
import ssl
import sys
import wsgiref.simple_server

cert, key, config, portfile, logfile = sys.argv[1:6]
os.environ["KDCPROXY_CONFIG"] = config

import kdcproxy  # noqa: E402 (reads KDCPROXY_CONFIG when built)
from kdcproxy import codec  # noqa: E402

log = open(logfile, "a", buffering=1)
proxy = kdcproxy.Application()


def app(env, start_response):
    try:
        length = int(env.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = env["wsgi.input"].read(length) if 0 < length <= 65536 else b""
    try:
        pr = codec.decode(body)
        log.write("REQUEST %s %s\n" % (pr.realm, pr.pretty_name))
    except Exception as e:  # kdcproxy answers it; note what it was
        log.write("UNPARSED %r\n" % (e,))
    env["wsgi.input"] = io.BytesIO(body)
    env["CONTENT_LENGTH"] = str(len(body))
    return proxy(env, start_response)


class Handler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        log.write("HTTP " + (fmt % args) + "\n")


server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % server.server_port)
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
