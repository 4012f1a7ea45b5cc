"""Drives the Verify simulator with Twilio's own Python library (twilio 9.13.0).

Modes:
  api       every Verify call the integration uses; prints "N passed, M failed"
  validate  reads {"token","url","params","signature"} on stdin and exits 0
            when twilio.request_validator.RequestValidator accepts it
"""

import json
import os
import sys
import urllib.parse
import urllib.request

from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

passed = 0
failed = []


def check(name, condition, detail=""):
    global passed
    if condition:
        passed += 1
    else:
        failed.append(f"{name}: {detail}")


def raises(name, code, call):
    try:
        call()
    except TwilioRestException as error:
        check(name, error.code == code, f"code {error.code}, expected {code}: {error.msg}")
        return
    check(name, False, "no exception")


def phone(path, form=None):
    url = os.environ["SIM_URL"] + "/phone/api/verify/" + path
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data)) as answer:
        return json.loads(answer.read())


def api():
    client = Client(os.environ["SIM_ACCOUNT"], os.environ["SIM_TOKEN"])
    # The library's own way to reach another host: the domain's base URL.
    client.verify.base_url = os.environ["SIM_URL"]
    v2 = client.verify.v2

    # Services: create, fetch, update, list (paged), delete.
    made = v2.services.create(friendly_name="Fidelity", code_length=6)
    check("service.create", made.sid.startswith("VA") and made.friendly_name == "Fidelity")
    check("service.fetch", v2.services(made.sid).fetch().code_length == 6)
    renamed = v2.services(made.sid).update(friendly_name="Fidelity 2")
    check("service.update", renamed.friendly_name == "Fidelity 2")
    listed = v2.services.list(page_size=1)
    check("service.list", len(listed) >= 2, f"{len(listed)} services")
    check("service.delete", v2.services(made.sid).delete() is True)
    raises("service.fetch deleted", 20404, lambda: v2.services(made.sid).fetch())

    service = v2.services(os.environ["SIM_SERVICE"])
    to = "+15017122661"

    # Verifications and checks.
    started = service.verifications.create(to=to, channel="sms")
    check("verification.create", started.status == "pending" and started.sid.startswith("VE"))
    again = service.verifications.create(to=to, channel="call")
    check("verification.resend", again.sid == started.sid and len(again.send_code_attempts) == 2)
    check("verification.fetch", service.verifications(started.sid).fetch().status == "pending")
    code = phone("messages?" + urllib.parse.urlencode({"to": to}))[-1]["code"]
    wrong = "000000" if code != "000000" else "111111"
    pending = service.verification_checks.create(to=to, code=wrong)
    check("check.wrong", pending.status == "pending" and pending.valid is False)
    approved = service.verification_checks.create(verification_sid=started.sid, code=code)
    check("check.right", approved.status == "approved" and approved.valid is True)
    raises("check.after approval", 20404, lambda: service.verification_checks.create(to=to, code=code))
    raises("verification.bad to", 60200, lambda: service.verifications.create(to="5017122661", channel="sms"))
    canceled = service.verifications.create(to="+15017122662", channel="whatsapp")
    check("verification.cancel", service.verifications(canceled.sid).update(status="canceled").status == "canceled")
    email = service.verifications.create(to="alice@example.com", channel="email")
    check("verification.email", email.channel == "email")

    # Entities and TOTP factors.
    identity = "0123456789abcdef0123456789abcdef"
    entity = service.entities.create(identity=identity)
    check("entity.create", entity.identity == identity and entity.sid.startswith("YE"))
    check("entity.fetch", service.entities(identity).fetch().sid == entity.sid)
    check("entity.list", any(e.identity == identity for e in service.entities.list()))
    factor = service.entities(identity).new_factors.create(
        friendly_name="Alice", factor_type="totp", config_time_step=30
    )
    check("factor.create", factor.status == "unverified" and factor.binding["uri"].startswith("otpauth://totp/"))
    totp = phone(f"factors/{factor.sid}/code")["code"]
    verified = service.entities(identity).factors(factor.sid).update(auth_payload=totp)
    check("factor.verify", verified.status == "verified", verified.status)
    check("factor.fetch", service.entities(identity).factors(factor.sid).fetch().status == "verified")
    check("factor.list", len(service.entities(identity).factors.list()) == 1)
    totp = phone(f"factors/{factor.sid}/code")["code"]
    challenge = service.entities(identity).challenges.create(factor_sid=factor.sid, auth_payload=totp)
    check("challenge.totp", challenge.status == "approved", challenge.status)
    later = service.entities(identity).challenges.create(factor_sid=factor.sid)
    answered = service.entities(identity).challenges(later.sid).update(auth_payload=totp)
    check("challenge.update", answered.status == "approved", answered.status)
    check("challenge.list", len(service.entities(identity).challenges.list(factor_sid=factor.sid)) == 2)

    # Push: an access token, a device's factor, a challenge with details.
    token = service.access_tokens.create(identity=identity, factor_type="push", factor_friendly_name="Pixel", ttl=120)
    check("access_token.create", token.sid.startswith("YK") and token.token)
    check("access_token.fetch", service.access_tokens(token.sid).fetch().entity_identity == identity)
    device = phone("push-factors", {"identity": identity, "friendly_name": "Pixel"})["sid"]
    push = service.entities(identity).challenges.create(
        factor_sid=device,
        details_message="Sign in?",
        details_fields=[{"label": "From", "value": "127.0.0.1"}],
        hidden_details={"session": "s-1"},
    )
    check("challenge.push", push.status == "pending" and push.details["fields"][0]["label"] == "From", str(push.details))
    check("challenge.hidden", push.hidden_details == {"session": "s-1"}, str(push.hidden_details))
    note = service.entities(identity).challenges(push.sid).notifications.create(ttl=60)
    check("notification.create", note.sid.startswith("NT") and note.ttl == 60)
    phone(f"challenges/{push.sid}/approve", {})
    check("challenge.fetch", service.entities(identity).challenges(push.sid).fetch().status == "approved")

    # Webhooks.
    hook = service.webhooks.create(
        friendly_name="fidelity",
        event_types=["challenge.approved", "factor.verified"],
        webhook_url="https://app.example.com/hook",
    )
    check("webhook.create", hook.event_types == ["challenge.approved", "factor.verified"] and hook.webhook_method == "POST")
    check("webhook.fetch", service.webhooks(hook.sid).fetch().webhook_url == "https://app.example.com/hook")
    check("webhook.update", service.webhooks(hook.sid).update(status="disabled").status == "disabled")
    check("webhook.list", any(w.sid == hook.sid for w in service.webhooks.list()))
    check("webhook.delete", service.webhooks(hook.sid).delete() is True)

    check("factor.delete", service.entities(identity).factors(factor.sid).delete() is True)
    check("entity.delete", service.entities(identity).delete() is True)

    for failure in failed:
        print("FAILED", failure)
    print(f"{passed} passed, {len(failed)} failed")
    return 0 if not failed else 1


def validate():
    data = json.load(sys.stdin)
    validator = RequestValidator(data["token"])
    ok = validator.validate(data["url"], data["params"], data["signature"])
    print("valid" if ok else "invalid")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit({"api": api, "validate": validate}[sys.argv[1]]())
