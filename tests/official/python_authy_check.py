"""Drives the official Python `authy` 2.2.6 client against a running simulator.

Every call the package supports, plus validation of the OneTouch callback
signature with the package's own `validate_one_touch_signature`.

    python -m venv /tmp/venv && /tmp/venv/bin/pip install authy==2.2.6
    PORT=4318 AUTHY_API_KEY=k AUTHY_CALLBACK_URL=http://127.0.0.1:4319/cb \
        AUTHY_CALLBACK_METHOD=POST cargo run --example simulator --features simulator &
    SIM_URL=http://127.0.0.1:4318 SIM_KEY=k CB_PORT=4319 CB_METHOD=POST \
        /tmp/venv/bin/python tests/official/python_authy_check.py

Exits non-zero when a check fails. (With GET callbacks a request carries one
logo only: a query parsed into a dict cannot keep two `logos[][res]` keys.)
"""
import json, os, sys, threading, urllib.request, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from authy.api import AuthyApiClient

BASE = os.environ["SIM_URL"]
KEY = os.environ["SIM_KEY"]
CB_PORT = int(os.environ["CB_PORT"])
METHOD = os.environ.get("CB_METHOD", "POST")
received = []

class H(BaseHTTPRequestHandler):
    def _done(self, params):
        received.append((self.command, dict(self.headers), params))
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self._done(json.loads(self.rfile.read(n)))
    def do_GET(self):
        q = urllib.parse.urlparse(self.path).query
        self._done(dict(urllib.parse.parse_qsl(q, keep_blank_values=True)))
    def log_message(self, *a): pass

srv = HTTPServer(("127.0.0.1", CB_PORT), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()

def phone(path, method="GET"):
    req = urllib.request.Request(BASE + "/phone/api/" + path, method=method)
    return json.loads(urllib.request.urlopen(req).read())

def check(name, cond, extra=""):
    print(("PASS " if cond else "FAIL ") + name + (" " + str(extra) if not cond else ""))
    if not cond: check.failed = True
check.failed = False

api = AuthyApiClient(KEY, BASE)
bad = AuthyApiClient("wrong", BASE)
u = api.users.create("py@example.com", "987-654-3210", 1)
check("users.create", u.ok() and isinstance(u.id, int), u.errors())
uid = u.id
check("users.create again same id", api.users.create("py2@example.com", "9876543210", 1).id == uid)
b = api.users.create("bad", "12", 1)
check("users.create invalid", not b.ok() and b.errors().get("message") == "User was not valid", b.content)
check("wrong key", not bad.users.status(uid).ok())
s = api.users.request_sms(uid)
check("sms ignored", s.ok() and s.ignored(), s.content)
s = api.users.request_sms(uid, {"force": True})
check("sms forced", s.ok() and not s.ignored(), s.content)
c = api.users.request_call(uid, {"force": True})
check("call forced", c.ok(), c.content)
st = api.users.status(uid)
check("status", st.ok() and st.content["status"]["authy_id"] == uid, st.content)
codes = phone("users/%d/messages" % uid)
t = api.tokens.verify(uid, codes[0]["code"])
check("verify sms code (force default)", t.ok(), t.content)
t = api.tokens.verify(uid, codes[0]["code"])
check("verify reused refused", not t.ok(), t.content)
t = api.tokens.verify(uid, "0000000")
check("verify wrong refused", not t.ok() and t.errors()["message"] == "Token is invalid", t.content)
tok = phone("users/%d/token" % uid)["token"]
check("verify soft token", api.tokens.verify(uid, tok).ok())
q = api.users.generate_qr(uid, size=300, label="Py")
check("qr", q.ok() and q.content["qr_code"].startswith("http"), q.content)
r = api.users.registration_status("someone")
check("registration status not found", not r.ok(), r.content)
a = api.apps.fetch()
check("app details", a.ok() and a.content["app"]["name"], a.content)
a = api.stats.fetch()
check("app stats", a.ok() and a.content["stats"], a.content)
v = api.phones.verification_start("987-654-3211", 1, via="sms")
check("pv start", v.ok() and v.content["uuid"], v.content)
code = phone("phones/1/9876543211/messages")[-1]["code"]
check("pv check wrong", not api.phones.verification_check("987-654-3211", 1, "0" * len(code) if code != "0" * len(code) else "1" * len(code)).ok())
check("pv check", api.phones.verification_check("987-654-3211", 1, code).ok())
i = api.phones.info("987-654-3211", 1)
check("phone info", i.ok() and i.content["type"], i.content)
o = api.one_touch.send_request(uid, "Login?", details={"User": "py"}, hidden_details={"ip": "10.0.0.1"},
                               logos=[{"res": "default", "url": "https://example.com/d.png"}] + ([{"res": "low", "url": "https://example.com/l.png"}] if METHOD == "POST" else []))
check("onetouch create", o.ok() and o.get_uuid(), o.content)
uuid = o.get_uuid()
g = api.one_touch.get_approval_status(uuid)
check("onetouch get", g.ok() and g.content["approval_request"]["status"] == "pending", g.content)
check("onetouch get unknown", not api.one_touch.get_approval_status("00000000-0000-0000-0000-000000000000").ok())
answer = phone("approval_requests/%s/approve" % uuid, "POST")
check("approve delivered", answer["callback"]["status"] == 200, answer)
method, headers, params = received[-1]
url = "http://127.0.0.1:%d/cb" % CB_PORT
valid = api.one_touch.validate_one_touch_signature(headers["X-Authy-Signature"], headers["X-Authy-Signature-Nonce"], METHOD, url, params)
check("python validates the %s callback signature" % METHOD, valid and method == METHOD, (method, params))
check("status approved", api.one_touch.get_approval_status(uuid).content["approval_request"]["status"] == "approved")
d = api.users.delete(uid)
check("delete", d.ok(), d.content)
check("status after delete", not api.users.status(uid).ok())
sys.exit(1 if check.failed else 0)
