#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# Fills a freshly provisioned Samba AD DC (offline, before `samba` starts)
# with the accounts the AD suite needs, in one process: samba-tool starts a
# Python interpreter and opens sam.ldb on every call (about a second each),
# which 400 groups cannot afford.
#
#   populate.py SMB_CONF OUT_DIR
#
# Writes OUT_DIR/svc-web.keytab, svc-rc4.keytab and app1.keytab: each
# account's keys under its own name. Passwords are the fixture's (README.md).

import sys

import ldb
import samba
from samba.auth import system_session
from samba.net import Net
from samba.param import LoadParm
from samba.samdb import SamDB

conf, out = sys.argv[1], sys.argv[2]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
realm = lp.get("realm").upper()
dns = realm.lower()
users = "CN=Users," + base


def user(name, password, upn=None, **kw):
    db.newuser(name, password, **kw)
    if upn:
        set_attr(name, "userPrincipalName", upn)


def set_attr(name, attr, value):
    m = ldb.Message()
    m.dn = ldb.Dn(db, dn_of(name))
    m[attr] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, attr)
    db.modify(m)


def dn_of(name):
    r = db.search(base=base, scope=ldb.SCOPE_SUBTREE, expression="(sAMAccountName=%s)" % ldb.binary_encode(name),
                  attrs=[])
    return str(r[0].dn)


def group(name, members):
    db.add({"dn": "CN=%s,%s" % (name, users), "objectClass": "group", "sAMAccountName": name,
            "member": [dn_of(m) for m in members]})


# Users. The DC's default policy wants complex passwords.
user("alice", "Alice-pw-1")
# Another UPN suffix than the realm's (item 2 of issue 15).
user("gina", "Gina-pw-1", upn="gina@mail.example")
# sAMAccountName hank, UPN henry@REALM: the name the client is given differs
# per package on Windows only by format, never by account (item 3).
user("hank", "Hank-pw-1", upn="henry@" + dns)
user("many", "Many-pw-1")
user("dora", "Dora-pw-1")
db.disable_account("(sAMAccountName=dora)")
user("eve", "Eve-pw-1")
# accountExpires: 2000-01-01 as a FILETIME (100 ns since 1601).
set_attr("eve", "accountExpires", "125911584000000000")
user("mona", "Mona-pw-1", force_password_change_at_next_login_req=True)

# 400 groups holding "many", each one LDB add; a PAC that large must still
# fit (Windows' MaxTokenSize is 48000 bytes).
for i in range(400):
    group("grp%03d" % i, ["many"])
group("staff", ["alice", "gina", "hank"])

# A service account with two HTTP SPNs (AES, the default), one limited to
# RC4 (msDS-SupportedEncryptionTypes = 4: the KDC issues RC4 tickets for it).
user("svc-web", "Svc-web-pw-1")
set_attr("svc-web", "servicePrincipalName", ["HTTP/web." + dns, "HTTP/web"])
# "This account supports Kerberos AES 128/256 bit encryption".
set_attr("svc-web", "msDS-SupportedEncryptionTypes", "24")
user("svc-rc4", "Svc-rc4-pw-1")
set_attr("svc-rc4", "servicePrincipalName", ["HTTP/old." + dns])
set_attr("svc-rc4", "msDS-SupportedEncryptionTypes", "4")

# A joined host's machine account with the SPNs a join gives it.
db.newcomputer("APP1", service_principal_name_list=[
    "host/app1." + dns, "host/APP1", "RestrictedKrbHost/app1." + dns, "RestrictedKrbHost/APP1"])
# What a join sets: RC4, AES128, AES256.
set_attr("APP1$", "msDS-SupportedEncryptionTypes", "28")
db.setpassword("(sAMAccountName=APP1$)", "App1-machine-pw-1-" + "x" * 40)

# The DC's own LDAP SPNs: samba_spnupdate adds them from the dnsupdate
# service, which dc.sh does not run.
m = ldb.Message()
m.dn = ldb.Dn(db, dn_of("DC1$"))
m["servicePrincipalName"] = ldb.MessageElement(
    ["ldap/dc1." + dns, "ldap/DC1", "ldap/dc1.%s/%s" % (dns, dns), "ldap/dc1.%s/CORP" % dns],
    ldb.FLAG_MOD_ADD, "servicePrincipalName")
db.modify(m)

# Keys of the accounts, one keytab each; dc.sh adds each SPN's entries
# (the account's keys under the SPN's name, as a join writes them).
samba.enable_net_export_keytab()
net = Net(None, lp)
for a in ["svc-web", "svc-rc4", "APP1$"]:
    net.export_keytab(keytab="%s/%s.keytab" % (out, a.rstrip("$").lower()), principal="%s@%s" % (a, realm))
