"""Drive Twilio's official Python client, `authy` 2.2.6, against the simulator.

The simulator is faithful only if Authy's own clients work against it
unchanged. `tests/it/official_clients.rs` installs the package into a
throwaway virtual environment and runs this script:

    authy_python.py api        # env SIM_URL (API root), SIM_KEY
    authy_python.py validate   # stdin: {"key","signature","nonce","method","url","params"}

`api` calls every operation the library offers and checks each answer the way
the library's users do; it exits non-zero with the failing check named.
`validate` checks a captured OneTouch callback with the library's own
`validate_one_touch_signature`, and that a tampered copy is refused.
"""

import json
import re
import sys

import requests
from authy.api import AuthyApiClient

CHECKS = []


def check(condition, what, detail=None):
    CHECKS.append(what)
    if not condition:
        raise SystemExit("FAILED: %s%s" % (what, "" if detail is None else " -- %r" % (detail,)))


def phone(sim_url, path):
    answer = requests.get(sim_url + "/phone/api/" + path, timeout=10)
    answer.raise_for_status()
    return answer.json()


def last_code(sim_url, authy_id):
    return phone(sim_url, "users/%d/messages" % authy_id)[-1]["code"]


def run_api(sim_url, key):
    client = AuthyApiClient(key, sim_url)

    # Users: create, idempotent on the phone number, validation errors.
    user = client.users.create("alice@example.com", "555-123-4567", 1)
    check(user.ok(), "users.create succeeds", user.content)
    check(isinstance(user.id, int), "users.create returns an integer id", user.content)
    again = client.users.create("alice.other@example.com", "5551234567", "1")
    check(again.ok() and again.id == user.id, "same phone number -> same Authy ID", again.content)
    bad = client.users.create("not-an-email", "555-123-4567", 1)
    check(not bad.ok(), "users.create refuses a bad e-mail", bad.content)
    check(bad.content["error_code"] == "60027", "bad e-mail -> 60027", bad.content)
    check("message" in bad.errors(), "errors() carries a message", bad.errors())
    wrong_key = AuthyApiClient("0" * 32, sim_url).users.create("bob@example.com", "5550000000", 1)
    check(wrong_key.response.status_code == 401, "wrong API key -> 401", wrong_key.content)
    check(wrong_key.content["error_code"] == "60001", "wrong API key -> 60001", wrong_key.content)
    authy_id = user.id

    # SMS and voice: ignored while the user has the app, sent when forced.
    sms = client.users.request_sms(authy_id)
    check(sms.ok() and sms.ignored(), "SMS without force is ignored for app users", sms.content)
    sms = client.users.request_sms(authy_id, {"force": True})
    check(sms.ok() and not sms.ignored(), "SMS with force is sent", sms.content)
    check(sms["cellphone"].endswith("67"), "SMS answer carries the masked cellphone", sms.content)
    code = last_code(sim_url, authy_id)
    wrong = "0000000" if code != "0000000" else "1111111"
    bad_token = client.tokens.verify(authy_id, wrong)
    check(not bad_token.ok(), "a wrong token is refused", bad_token.content)
    check(bad_token.content["error_code"] == "60020", "wrong token -> 60020", bad_token.content)
    token = client.tokens.verify(authy_id, code)
    check(token.ok(), "the SMS code verifies (raw '\"token\":\"is valid\"' test)", token.content)
    reused = client.tokens.verify(authy_id, code)
    check(not reused.ok(), "a used code is refused the second time", reused.content)
    call = client.users.request_call(authy_id)
    check(call.ok() and call.ignored(), "call without force is ignored for app users", call.content)
    call = client.users.request_call(authy_id, {"force": True})
    check(call.ok() and not call.ignored(), "call with force is started", call.content)
    check(client.tokens.verify(authy_id, last_code(sim_url, authy_id)).ok(), "the voice code verifies")

    # The virtual app's soft token.
    soft = phone(sim_url, "users/%d/token" % authy_id)["token"]
    check(client.tokens.verify(authy_id, soft).ok(), "the app's soft token verifies", soft)

    # Status, QR secret, registration status.
    status = client.users.status(authy_id)
    check(status.ok(), "users.status succeeds", status.content)
    check(status["status"]["authy_id"] == authy_id, "status names the user", status.content)
    check(status["status"]["confirmed"] is True, "a verified user is confirmed", status.content)
    check(status["status"]["phone_number"].endswith("67"), "status masks the phone", status.content)
    qr = client.users.generate_qr(authy_id, size=300, label="alice")
    check(qr.ok() and qr["qr_code"], "users.generate_qr returns a QR link", qr.content)
    registration = client.users.registration_status("no-such-registration")
    check(not registration.ok() and "error_code" in registration.content,
          "unknown registration -> an Authy error", registration.content)

    # Application details and statistics.
    app = client.apps.fetch()
    check(app.ok() and app["app"]["name"], "apps.fetch succeeds", app.content)
    stats = client.stats.fetch()
    check(stats.ok(), "stats.fetch succeeds", stats.content)
    expected = {"month", "year", "api_calls_count", "auths_count", "calls_count", "sms_count", "users_count"}
    check(all(set(entry) == expected for entry in stats["stats"]), "stats entries have the seven keys", stats.content)

    # Phone verification (Verify v1) and phone information.
    started = client.phones.verification_start("555-987-6543", 1, via="sms")
    check(started.ok() and started["uuid"], "phones.verification_start succeeds", started.content)
    client.phones.verification_start("555-987-6543", 1, via="sms")
    codes = [m["code"] for m in phone(sim_url, "phones/1/5559876543/messages")]
    check(len(codes) == 2 and codes[0] == codes[1], "a second start resends the same code", codes)
    check(len(codes[0]) == 4, "the default code has four digits", codes)
    wrong_code = "0000" if codes[0] != "0000" else "1111"
    wrong = client.phones.verification_check("555-987-6543", 1, wrong_code)
    check(not wrong.ok() and wrong.content["error_code"] == "60022", "a wrong code -> 60022", wrong.content)
    right = client.phones.verification_check("555-987-6543", 1, codes[0])
    check(right.ok(), "the right code is correct", right.content)
    none = client.phones.verification_check("555-111-2222", 1, "1234")
    check(not none.ok() and none.content["error_code"] == "60023", "nothing pending -> 60023", none.content)
    invalid = client.phones.verification_start("555-987-6543", "xx", via="call")
    check(not invalid.ok() and invalid.content["error_code"] == "60004", "non-numeric country -> 60004", invalid.content)
    info = client.phones.info("555-987-6543", 1)
    check(info.ok(), "phones.info succeeds", info.content)
    check(re.match(r"Phone number information as of \d+-\d+-\d+ \d+:\d+:\d+ UTC", info["message"]),
          "phones.info message has the documented form", info.content)

    # OneTouch: create (with and without expiry), read, approve, unknown uuid.
    sent = client.one_touch.send_request(
        authy_id, "Log in to the quickstart?", seconds_to_expire=120,
        details={"username": "alice"}, hidden_details={"ip": "127.0.0.1"},
        logos=[{"res": "default", "url": "https://example.com/logo.png"}])
    check(sent.ok() and sent.get_uuid(), "one_touch.send_request succeeds", sent.content)
    default_expiry = client.one_touch.send_request(authy_id, "Default expiry")
    check(default_expiry.ok() and default_expiry.get_uuid(), "seconds_to_expire=None is accepted", default_expiry.content)
    read = client.one_touch.get_approval_status(sent.get_uuid())
    check(read.ok() and read["approval_request"]["status"] == "pending", "a new request is pending", read.content)
    approved = requests.post(sim_url + "/phone/api/approval_requests/%s/approve" % sent.get_uuid(),
                             headers={"Accept": "application/json"}, timeout=10)
    check(approved.status_code == 200, "the virtual phone approves", approved.text)
    read = client.one_touch.get_approval_status(sent.get_uuid())
    check(read["approval_request"]["status"] == "approved", "the request reads approved", read.content)
    missing = client.one_touch.get_approval_status("00000000-0000-0000-0000-000000000000")
    check(not missing.ok() and missing.content["error_code"] == "60049", "unknown uuid -> 60049", missing.content)

    # Delete, after which the user is unknown.
    deleted = client.users.delete(authy_id)
    check(deleted.ok(), "users.delete succeeds", deleted.content)
    gone = client.users.status(authy_id)
    check(not gone.ok() and gone.content["error_code"] == "60026", "a deleted user is unknown", gone.content)


def run_validate(captured):
    client = AuthyApiClient(captured["key"])
    args = (captured["signature"], captured["nonce"], captured["method"], captured["url"])
    check(client.one_touch.validate_one_touch_signature(*args, captured["params"]),
          "the library accepts the simulator's callback signature", captured)
    tampered = dict(captured["params"], status="tampered")
    check(not client.one_touch.validate_one_touch_signature(*args, tampered),
          "the library refuses a tampered callback")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "api":
        import os
        run_api(os.environ["SIM_URL"].rstrip("/"), os.environ["SIM_KEY"])
    elif mode == "validate":
        run_validate(json.load(sys.stdin))
    else:
        raise SystemExit("usage: authy_python.py api|validate")
    print("%d passed, 0 failed" % len(CHECKS))


if __name__ == "__main__":
    main()
