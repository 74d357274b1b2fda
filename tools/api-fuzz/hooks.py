"""Schemathesis hooks for the fuzz run of the public API (tools/api-fuzz/run.sh loads this module).

Authenticated routes must really be exercised, so every generated call carries a live credential of
one of three principals, each signed in through the public API itself:

- ``user``: registered, e-mail verified with the code read from the dev outbox, signed in with a
  password, its default wallet funded by a signed payment-provider webhook. Used for every route of
  audience ``user`` that needs no step-up (and sent, harmlessly, on anonymous ones).
- ``stepped``: a second user with TOTP enrolled and a stepped-up (aal2) session, for the routes
  marked ``x-step-up`` that are not admin routes (withdrawals, removing TOTP).
- ``admin``: created with ``npm run identity -- create-admin`` (the only way to get the role),
  TOTP enrolled, stepped up, for ``/v1/admin/*``.

A fuzzed call may end the session it carried (logout, revoking its own session, removing TOTP, an
admin changing its own roles). ``after_call`` notices (a 2xx of such a route, or a 401 on a call
that carried our token) and the next call of that principal signs in again, so one logout does not
leave the rest of the run testing 401s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time
import uuid
from typing import Any

import pyotp
import requests
import schemathesis
import urllib3

BASE_URL = os.environ["FUZZ_BASE_URL"].rstrip("/")
REPO_ROOT = os.environ["FUZZ_REPO_ROOT"]
DATA_DIR = os.environ["FUZZ_DATA_DIR"]
WEBHOOK_SECRET = os.environ.get("FUZZ_WEBHOOK_SECRET", "whsec_dev_only")
# Each signed-in session is renewed well inside the access token's life and the step-up window.
RENEW_AFTER_SECONDS = 180
MAIL_TIMEOUT_SECONDS = 40

# The target is this run's own platform on loopback, serving a self-signed certificate it made
# moments ago (CA:FALSE, which Python's OpenSSL will not take as a trust anchor); schemathesis itself
# runs with --tls-verify false for the same reason. TLS is tested elsewhere (gateway and system suites).
_http = requests.Session()
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


class SetupError(RuntimeError):
    """The hook could not sign a principal in: the run cannot cover authenticated routes."""


def _call(method: str, path: str, *, token: str | None = None, body: Any = None,
          headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    res = _http.request(method, f"{BASE_URL}{path}", headers=sent, data=data, timeout=20, verify=False)
    try:
        parsed = res.json() if res.content else None
    except ValueError:
        parsed = res.text
    return res.status_code, parsed


def _expect(what: str, answer: tuple[int, Any], *statuses: int) -> Any:
    status, body = answer
    if status not in statuses:
        raise SetupError(f"{what}: HTTP {status} {json.dumps(body)[:400]}")
    return body


def _wait_for(what: str, probe, timeout: float = MAIL_TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise SetupError(f"timed out waiting for {what}")
        time.sleep(0.25)


def _mailed_code(email: str) -> str:
    def probe():
        status, body = _call("GET", f"/v1/dev/outbox?to={requests.utils.quote(email)}")
        if status != 200:
            return None
        for item in body.get("items", []):
            match = re.search(r"\b([0-9]{6})\b", f"{item.get('subject') or ''}\n{item.get('body', '')}")
            if match:
                return match.group(1)
        return None

    return _wait_for(f"the code e-mailed to {email}", probe)


def _sign_webhook(raw: bytes) -> str:
    t = int(time.time())
    v1 = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1}"


class Principal:
    def __init__(self, name: str, *, stepped_up: bool, admin: bool = False) -> None:
        self.name = name
        self.stepped_up = stepped_up
        self.admin = admin
        self.email = f"fuzz-{name}-{uuid.uuid4().hex[:10]}@example.com"
        self.password = f"fuzz {name} {uuid.uuid4()}"
        self.created = False
        self.totp: pyotp.TOTP | None = None
        self.last_step = -1
        self.token: str | None = None
        self.session_id: str | None = None
        self.user_id: str | None = None
        self.wallet_id: str | None = None
        # walletId -> currency of the wallets this principal holds (funded, for the user).
        self.wallets: dict[str, str] = {}
        # Transfers the user made to the payee: only the payee (or support) may refund them.
        self.paid_to_payee: set[str] = set()
        self.signed_at = 0.0
        self.sign_ins = 0
        self.sign_in_seconds = 0.0
        self.ended_by: dict[str, int] = {}
        self._lock = threading.RLock()

    # -- one-time codes -----------------------------------------------------------------------
    def _next_totp(self) -> str:
        """A code for a time step later than the last one used (identity refuses a replayed step)."""
        assert self.totp is not None
        while True:
            now_step = int(time.time()) // 30
            for step in (now_step, now_step + 1):
                if step > self.last_step:
                    self.last_step = step
                    return self.totp.at(step * 30)
            time.sleep(1)

    # -- set-up -------------------------------------------------------------------------------
    def _create(self) -> None:
        if self.admin:
            result = subprocess.run(
                # `npm run identity -- create-admin`, without npm's start-up.
                ["node", "services/identity/src/cli.ts", "create-admin", "--email", self.email,
                 "--password-stdin"],
                input=self.password, text=True, capture_output=True, cwd=REPO_ROOT,
                env={**os.environ, "WALLET_DATA_DIR": DATA_DIR}, timeout=120,
            )
            if result.returncode != 0:
                raise SetupError(f"create-admin failed: {result.stderr[-400:]}")
        else:
            _expect("register", _call("POST", "/v1/auth/register",
                                      body={"email": self.email, "password": self.password}), 202)
            code = _mailed_code(self.email)
            _expect("verify e-mail", _call("POST", "/v1/auth/verify-email",
                                           body={"email": self.email, "code": code}), 204)
        self.created = True

    def _login(self) -> None:
        body = _expect("login", _call("POST", "/v1/auth/login", body={
            "email": self.email, "password": self.password, "deviceName": f"fuzz-{self.name}"}), 200)
        if body.get("mfaRequired"):
            body = _expect("login second factor", _call("POST", "/v1/auth/login/mfa", body={
                "mfaToken": body["mfaToken"], "code": self._next_totp()}), 200)
        self.token = body["accessToken"]
        self.session_id = body["sessionId"]

    def _enrol_totp(self) -> None:
        enrolment = _expect("TOTP enrolment", _call("POST", "/v1/me/mfa/totp", token=self.token), 200)
        self.totp = pyotp.TOTP(enrolment["secret"])
        self.last_step = -1
        _expect("TOTP confirmation", _call("POST", "/v1/me/mfa/totp/confirm", token=self.token,
                                           body={"code": self._next_totp()}), 200)

    def _step_up(self) -> None:
        body = _expect("step-up", _call("POST", "/v1/auth/step-up", token=self.token,
                                        body={"code": self._next_totp()}), 200)
        self.token = body["accessToken"]

    def _default_wallet(self) -> dict:
        def probe():
            status, body = _call("GET", "/v1/wallets", token=self.token)
            items = body.get("items", []) if status == 200 and isinstance(body, dict) else []
            return items[0] if items else None

        wallet = _wait_for("the default wallet opened on registration", probe)
        self.wallet_id = wallet["walletId"]
        self.wallets[wallet["walletId"]] = wallet["currency"]
        return wallet

    def fund(self, wallet_id: str, currency: str) -> None:
        """A signed provider deposit of 12 digits of minor units: more than any amount the document
        allows in one call (at most 12 digits), in every currency."""
        raw = json.dumps({
            "id": f"evt_fuzz_{uuid.uuid4()}",
            "type": "payment.succeeded",
            "data": {"walletId": wallet_id, "amount": "999999999999", "currency": currency},
        }).encode()
        _expect("deposit webhook", _call("POST", "/v1/webhooks/payments", raw=raw,
                                         headers={"Webhook-Signature": _sign_webhook(raw)}), 200, 201)
        self.wallets[wallet_id] = currency

    def _fund_default_wallet(self) -> None:
        wallet = self._default_wallet()
        self.fund(wallet["walletId"], wallet["currency"])

    def wallet_in(self, currency: str) -> str | None:
        """This principal's wallet in `currency`, opened if it has none."""
        with self._lock:
            for wallet_id, held in self.wallets.items():
                if held == currency:
                    return wallet_id
            token = self.current_token()
            status, body = _call("POST", "/v1/wallets", token=token, body={"currency": currency})
            if status != 201:
                status, body = _call("GET", "/v1/wallets", token=token)
                found = [w for w in (body or {}).get("items", []) if w.get("currency") == currency]
                if status != 200 or not found:
                    return None
                body = found[0]
            self.wallets[body["walletId"]] = currency
            return body["walletId"]

    def _sign_in(self) -> None:
        started = time.monotonic()
        first = not self.created
        if first:
            self._create()
        self._login()
        if self.stepped_up:
            if self.totp is None:
                self._enrol_totp()
            self._step_up()
        _, me = _call("GET", "/v1/me", token=self.token)
        self.user_id = me.get("userId") if isinstance(me, dict) else None
        if first and self.name == "user":
            self._fund_default_wallet()
        elif first and self.name == "stepped":
            self._default_wallet()  # the payee of the user's chained transfers
        self.signed_at = time.monotonic()
        self.sign_ins += 1
        self.sign_in_seconds += self.signed_at - started

    # -- use ----------------------------------------------------------------------------------
    def current_token(self) -> str:
        with self._lock:
            if self.token is None or time.monotonic() - self.signed_at > RENEW_AFTER_SECONDS:
                self._sign_in()
            assert self.token is not None
            return self.token

    def session_ended(self, token: str, by: str) -> None:
        """The session behind `token` is gone: the next call signs in again."""
        with self._lock:
            if self.token == token:
                self.token = None
                self.ended_by[by] = self.ended_by.get(by, 0) + 1

    def totp_removed(self, token: str, by: str) -> None:
        with self._lock:
            if self.token == token:
                self.totp = None
                self.token = None
                self.ended_by[by] = self.ended_by.get(by, 0) + 1


PRINCIPALS = {
    "user": Principal("user", stepped_up=False),
    "stepped": Principal("stepped", stepped_up=True),
    "admin": Principal("admin", stepped_up=True, admin=True),
}


def _principal_for(case) -> Principal | None:
    path = case.operation.path
    raw = case.operation.definition.raw
    if path == "/v1/webhooks/payments":
        return None  # the provider's signature, not a principal
    if path.startswith("/v1/admin/"):
        return PRINCIPALS["admin"]
    if raw.get("x-step-up"):
        return PRINCIPALS["stepped"]
    if path == "/v1/transfers/{transferId}/refunds":
        transfer_id = (case.path_parameters or {}).get("transferId")
        if transfer_id in PRINCIPALS["user"].paid_to_payee:
            return PRINCIPALS["stepped"]  # the payee refunds what it received
    return PRINCIPALS["user"]


def _bearer_of(case) -> str | None:
    value = (case.headers or {}).get("Authorization", "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else None


@schemathesis.auth(refresh_interval=None)
class WalletSessionAuth:
    """Bearer token of the principal the operation needs, signed in (again) whenever needed."""

    def get(self, case, ctx):
        principal = _principal_for(case)
        return None if principal is None else (principal.name, principal.current_token())

    def set(self, case, data, ctx):
        _, token = data
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


# Routes whose success ends (or may end) the session that called them.
SESSION_ENDING = {
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/web/logout"),
    ("DELETE", "/v1/me/sessions/{id}"),
    ("PUT", "/v1/admin/users/{id}/roles"),
    ("POST", "/v1/admin/users/{id}/lock"),
}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # The fuzzer must not lock the hook's own principals out or strip the admin's roles (stateful
    # runs find their ids in GET /v1/admin/users): every later call of theirs would be a 401/403 and
    # hide what the routes do. Another id is just as good a case.
    if case.operation.path.startswith("/v1/admin/users/{id}/"):
        ours = {p.user_id for p in PRINCIPALS.values() if p.user_id is not None}
        if (case.path_parameters or {}).get("id") in ours:
            case.path_parameters = {**case.path_parameters, "id": str(uuid.uuid4())}


    # A transfer chained by the OpenAPI links from one of the user's (funded) wallets goes to a
    # wallet that exists in its currency, the second user's, so the chain reaches 201 and its
    # refunds: the fuzzer cannot know another user's wallet id, and one's own wallets never share a
    # currency.
    body = case.body if isinstance(case.body, dict) else None
    user, payee = PRINCIPALS["user"], PRINCIPALS["stepped"]
    if case.operation.path == "/v1/transfers" and body is not None:
        currency = user.wallets.get(str(body.get("fromWalletId")))
        payee_wallet = payee.wallet_in(currency) if currency is not None else None
        if payee_wallet is not None:
            case.body = {**body, "toWalletId": payee_wallet}


# The WAF's injection rules (services/api-gateway/src/domain/waf.ts) refuse strings that look like an
# attack (`x'--`, `<script`, `; rm -rf`) in any field, which no JSON Schema of that field can express.
# Such a 400 to schema-valid data is the WAF's documented trade-off, not a conformance failure; every
# other rejection of schema-valid data still fails the run.
# Likewise json-006: a NUL character in a JSON string, which no service's PostgreSQL can store.
WAF_INJECTION_RULES = ("sqli-", "xss-", "cmdi-", "inj-", "trav-", "json-006")


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    if getattr(failure, "code", None) != "ST202" or response.status_code != 400:
        return True
    try:
        problem = json.loads(response.content or b"{}")
    except ValueError:
        return True
    rule = problem.get("rule", "") if isinstance(problem, dict) else ""
    blocked = isinstance(problem, dict) and problem.get("type", "").endswith("/request-blocked")
    return not (blocked and isinstance(rule, str) and rule.startswith(WAF_INJECTION_RULES))


@schemathesis.hook
def after_call(ctx, case, response):
    token = _bearer_of(case)
    if token is None:
        return
    owner = next((p for p in PRINCIPALS.values() if p.token == token), None)
    if owner is None:
        return
    method, path = case.method.upper(), case.operation.path
    status = response.status_code
    by = f"{status} {method} {path}"
    if owner.name == "user" and (method, path) == ("POST", "/v1/wallets") and status == 201:
        opened = response.json()
        owner.fund(opened["walletId"], opened["currency"])  # so transfers chained from it can pay
    if owner.name == "user" and (method, path) == ("POST", "/v1/transfers") and status == 201:
        to_wallet = (case.body or {}).get("toWalletId") if isinstance(case.body, dict) else None
        if to_wallet in PRINCIPALS["stepped"].wallets:
            owner.paid_to_payee.add(response.json()["transferId"])
    # A 401 means the bearer was refused only on routes that need one: on the anonymous routes
    # (login, refresh, browser login) it is the credentials in the body that were wrong.
    if status == 401 and case.operation.definition.raw.get("x-access") != "anonymous":
        owner.session_ended(token, by)
    elif 200 <= status < 300 and (method, path) in SESSION_ENDING:
        owner.session_ended(token, by)
    elif 200 <= status < 300 and (method, path) == ("DELETE", "/v1/me/mfa/totp"):
        owner.totp_removed(token, by)


def _write_sign_in_counts() -> None:
    target = os.environ.get("FUZZ_SIGN_IN_FILE")
    if target:
        with open(target, "w", encoding="utf8") as out:
            json.dump({p.name: {"sign_ins": p.sign_ins, "seconds": round(p.sign_in_seconds, 1),
                                "ended_by": p.ended_by} for p in PRINCIPALS.values()}, out)


# Sign every principal in before the first generated case, so a broken set-up stops the run at once
# (and the fuzzed sign-in failures cannot throttle the hook's own first sign-in).
for _principal in PRINCIPALS.values():
    _principal.current_token()

import atexit  # noqa: E402

atexit.register(_write_sign_in_counts)
