#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An RDP-style CredSSP server built on impacket, the peer our CredSSP
client logs on to (tests/integration/test_credssp_interop.c).

TLS is pyOpenSSL's; NTLM is impacket's own acceptor code: the
CHALLENGE built with impacket.ntlm as impacket's SMB server builds it,
the AUTHENTICATE checked by impacket.smbserver.computeNTLMv2, signing and
sealing by impacket.ntlm (SIGNKEY/SEALKEY/SEAL/SIGN); SPNEGO parsed by
impacket.spnego. Only the TSRequest DER (MS-CSSP 2.2.1: impacket's
rdp_check class knows no clientNonce or errorCode) and the message order
of MS-CSSP 3.1.5 are written here.

  credssp-impacket-server.py PORT CERT.pem KEY.pem DOMAIN USER PASSWORD [MAX_VERSION]

Answers the X.224 Connection Request with PROTOCOL_HYBRID, then runs one
CredSSP exchange. Prints "LISTENING", then "OK DOMAIN\\USER" when the
client's pubKeyAuth and its TSPasswordCreds are what they must be, or
"FAIL <why>"; exit status 0 or 1.
"""
import calendar
import hashlib
import signal
import socket
import struct
import sys
import time

from Cryptodome.Cipher import ARC4
from OpenSSL import SSL, crypto
from impacket import ntlm
from impacket.smbserver import computeNTLMv2
from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech

C2S = b"CredSSP Client-To-Server Binding Hash\x00"
S2C = b"CredSSP Server-To-Client Binding Hash\x00"
STATUS_LOGON_FAILURE = 0xC000006D


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, value):
    return bytes([tag]) + der_len(len(value)) + value


def der_int(v):
    return tlv(0x02, v.to_bytes(4, "big", signed=True).lstrip(b"\x00") or b"\x00") if v >= 0 else \
        tlv(0x02, v.to_bytes(4, "big", signed=True))


def read_tlv(b, off):
    tag = b[off]
    n = b[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[off:off + k], "big")
        off += k
    return tag, b[off:off + n], off + n


def element_len(b):
    if len(b) < 2:
        return None
    n = b[1]
    h = 2
    if n & 0x80:
        k = n & 0x7F
        if len(b) < 2 + k:
            return None
        n = int.from_bytes(b[2:2 + k], "big")
        h += k
    return h + n if len(b) >= h + n else None


def parse_tsrequest(b):
    tag, body, _ = read_tlv(b, 0)
    assert tag == 0x30
    r = {}
    off = 0
    while off < len(body):
        tag, v, off = read_tlv(body, off)
        _, inner, _ = read_tlv(v, 0)
        if tag == 0xA0:
            r["version"] = int.from_bytes(inner, "big", signed=True)
        elif tag == 0xA1:  # SEQUENCE OF SEQUENCE { [0] OCTET STRING }
            _, item, _ = read_tlv(inner, 0)
            _, ctx0, _ = read_tlv(item, 0)
            _, tok, _ = read_tlv(ctx0, 0)
            r["nego"] = tok
        elif tag == 0xA2:
            r["authInfo"] = inner
        elif tag == 0xA3:
            r["pubKeyAuth"] = inner
        elif tag == 0xA4:
            r["errorCode"] = int.from_bytes(inner, "big", signed=True)
        elif tag == 0xA5:
            r["nonce"] = inner
    return r


def tsrequest(version, nego=None, pub_key_auth=None, error=None):
    body = tlv(0xA0, der_int(version))
    if nego is not None:
        body += tlv(0xA1, tlv(0x30, tlv(0x30, tlv(0xA0, tlv(0x04, nego)))))
    if pub_key_auth is not None:
        body += tlv(0xA3, tlv(0x04, pub_key_auth))
    if error is not None:
        body += tlv(0xA4, der_int(error - (1 << 32) if error & 0x80000000 else error))
    return tlv(0x30, body)


def main():
    port, cert_file, key_file, domain, user, password = sys.argv[1:7]
    max_version = int(sys.argv[7]) if len(sys.argv) > 7 else 6
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(1)
    signal.alarm(60)
    print("LISTENING", flush=True)
    conn, _ = ls.accept()
    signal.alarm(30)
    cr = conn.recv(4096)
    if len(cr) < 11 or cr[0] != 3:
        print("FAIL no X.224 Connection Request")
        return 1
    # TPKT, X.224 Connection Confirm, RDP_NEG_RSP selecting PROTOCOL_HYBRID.
    conn.sendall(bytes([3, 0, 0, 19, 14, 0xD0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 2, 0, 0, 0]))

    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.use_certificate_file(cert_file)
    ctx.use_privatekey_file(key_file)
    tls = SSL.Connection(ctx, conn)
    tls.set_accept_state()
    tls.do_handshake()
    cert = crypto.load_certificate(crypto.FILETYPE_PEM, open(cert_file, "rb").read())
    # SubjectPublicKey of an RSA-2048 SubjectPublicKeyInfo, as rdp_check takes it.
    pub = crypto.dump_publickey(crypto.FILETYPE_ASN1, cert.get_pubkey())[24:]

    buf = b""

    def read_request():
        nonlocal buf
        while True:
            n = element_len(buf)
            if n:
                one, buf = buf[:n], buf[n:]
                return parse_tsrequest(one)
            buf += tls.recv(65536)

    # 1. NEGOTIATE in a NegTokenInit.
    req = read_request()
    version = min(req["version"], max_version)
    init = SPNEGO_NegTokenInit(req["nego"])
    mech_types = tlv(0x30, b"".join(tlv(0x06, m) for m in init["MechTypes"]))
    negotiate = ntlm.NTLMAuthNegotiate()
    negotiate.fromString(init["MechToken"])
    flags = ntlm.NTLMSSP_NEGOTIATE_VERSION | ntlm.NTLMSSP_NEGOTIATE_TARGET_INFO | \
        ntlm.NTLMSSP_TARGET_TYPE_SERVER | ntlm.NTLMSSP_NEGOTIATE_NTLM | ntlm.NTLMSSP_REQUEST_TARGET
    for f in (ntlm.NTLMSSP_NEGOTIATE_56, ntlm.NTLMSSP_NEGOTIATE_128, ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH,
              ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, ntlm.NTLMSSP_NEGOTIATE_UNICODE,
              ntlm.NTLMSSP_NEGOTIATE_SIGN, ntlm.NTLMSSP_NEGOTIATE_SEAL, ntlm.NTLMSSP_NEGOTIATE_ALWAYS_SIGN):
        if negotiate["flags"] & f:
            flags |= f
    av = ntlm.AV_PAIRS()
    av[ntlm.NTLMSSP_AV_HOSTNAME] = av[ntlm.NTLMSSP_AV_DNS_HOSTNAME] = "PEER".encode("utf-16le")
    av[ntlm.NTLMSSP_AV_DOMAINNAME] = av[ntlm.NTLMSSP_AV_DNS_DOMAINNAME] = domain.encode("utf-16le")
    av[ntlm.NTLMSSP_AV_TIME] = struct.pack("<q", 116444736000000000 + calendar.timegm(time.gmtime()) * 10000000)
    challenge = ntlm.NTLMAuthChallenge()
    challenge["flags"] = flags
    challenge["domain_len"] = challenge["domain_max_len"] = len(domain.encode("utf-16le"))
    challenge["domain_offset"] = 40 + 16
    challenge["challenge"] = b"\x11\x22\x33\x44\x55\x66\x77\x88"
    challenge["domain_name"] = domain.encode("utf-16le")
    challenge["TargetInfoFields_len"] = challenge["TargetInfoFields_max_len"] = len(av)
    challenge["TargetInfoFields"] = av
    challenge["TargetInfoFields_offset"] = 40 + 16 + len(challenge["domain_name"])
    challenge["Version"] = b"\xff" * 8
    challenge["VersionLen"] = 8
    resp = SPNEGO_NegTokenResp()
    resp["NegState"] = b"\x01"
    resp["SupportedMech"] = TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]
    resp["ResponseToken"] = challenge.getData()
    tls.sendall(tsrequest(version, nego=resp.getData()))

    # 2. AUTHENTICATE (and mechListMIC) with pubKeyAuth.
    req = read_request()
    if "errorCode" in req:
        print("FAIL the client sent errorCode 0x%08x" % (req["errorCode"] & 0xFFFFFFFF))
        return 1
    auth = ntlm.NTLMAuthChallengeResponse()
    auth.fromString(SPNEGO_NegTokenResp(req["nego"])["ResponseToken"])
    nthash = ntlm.compute_nthash(password)
    status, key = computeNTLMv2(user, "", nthash, challenge["challenge"], auth, challenge, negotiate)
    if status != 0 or key is None or auth["user_name"].decode("utf-16le").lower() != user.lower():
        tls.sendall(tsrequest(version, error=STATUS_LOGON_FAILURE))
        print("FAIL logon refused")
        return 1
    c_sign, s_sign = ntlm.SIGNKEY(flags, key), ntlm.SIGNKEY(flags, key, "Server")
    c_seal, s_seal = ntlm.SEALKEY(flags, key), ntlm.SEALKEY(flags, key, "Server")
    # The mechListMICs take sequence number 0 of each direction, and each
    # side's RC4 state starts again after them (MS-SPNG 3.1.5.1, MS-NLMP).
    mic = ntlm.SIGN(flags, s_sign, mech_types, 0, ARC4.new(s_seal).encrypt)
    c_handle = ARC4.new(c_seal).encrypt
    s_handle = ARC4.new(s_seal).encrypt

    def unseal(blob, seq):
        plain = c_handle(blob[16:])
        sig = ntlm.SIGN(flags, c_sign, plain, seq, c_handle)
        return plain if sig.getData() == blob[:16] else None

    plain = unseal(req["pubKeyAuth"], 1)
    nonce = req.get("nonce", b"")
    want = hashlib.sha256(C2S + nonce + pub).digest() if version >= 5 else pub
    if plain != want:
        print("FAIL the client's pubKeyAuth does not match")
        return 1
    answer = hashlib.sha256(S2C + nonce + pub).digest() if version >= 5 else bytes([(pub[0] + 1) & 0xFF]) + pub[1:]
    sealed, sig = ntlm.SEAL(flags, s_sign, s_seal, answer, answer, 1, s_handle)
    final = tlv(0xA1, tlv(0x30, tlv(0xA0, tlv(0x0A, b"\x00")) + tlv(0xA3, tlv(0x04, mic.getData()))))
    tls.sendall(tsrequest(version, nego=final, pub_key_auth=sig.getData() + sealed))

    # 3. TSCredentials.
    req = read_request()
    creds = unseal(req.get("authInfo", b"\x00" * 17), 2)
    if creds is None:
        print("FAIL authInfo does not verify")
        return 1
    _, body, _ = read_tlv(creds, 0)
    _, t, off = read_tlv(body, 0)
    _, inner, _ = read_tlv(body, off)
    _, pw, _ = read_tlv(inner, 0)
    _, pwseq, _ = read_tlv(pw, 0)
    fields = []
    off = 0
    while off < len(pwseq):
        _, v, off = read_tlv(pwseq, off)
        fields.append(read_tlv(v, 0)[1].decode("utf-16le"))
    if fields != [domain, user, password]:
        print("FAIL TSPasswordCreds %r" % fields[:2])
        return 1
    print("OK %s\\%s" % (domain, user), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
