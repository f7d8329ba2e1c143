"""Every JSON endpoint, fuzzed: bodies of the wrong type, nested lists, NaN, huge numbers, unicode, and
odd query numbers never make the server answer 5xx; a 400 says what is wrong in Chinese.

The endpoints are found by walking ``app.url_map`` (views that read a JSON body or query numbers), each
is called with the role its access rule asks for, on real objects (a theory attempt, a live call, a task).
"""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exams import bank_io
from simulator.auth.access import ANY_USER, PUBLIC, access_rule
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.practical.library import sync_library
from tests.bank_factory import write_bank
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login, pass_device_check

FIXTURES = Path(__file__).resolve().parent / "data" / "scenarios"
PROJECT = Path(__file__).resolve().parents[1]
JSON_READERS = re.compile(r"json_object\(|query_int\(|get_json\(|request\.json\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
KEYS = ["position", "response", "flagged", "seq", "since", "action", "target", "text", "typed", "type", "summary",
        "contact", "callback_time", "wrapup_code"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 80), max_value=2 ** 80)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
           | st.sampled_from(["abc", "sNaN", "NaN", "1e999", "-1", "０", "٣", "answer", "hold", "hangup", "transfer",
                              "A", "", " 7 ", "9" * 40]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
bodies = (st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), values, max_size=5)
          | st.lists(values, max_size=3) | scalars)
query_values = st.text(max_size=12) | st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str) \
    | st.sampled_from(["abc", "1.5", "NaN", "-0", "9" * 30])


def json_endpoints(app) -> list:
    """(rule, view) for every route whose view reads a JSON body or query numbers."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        try:
            source = inspect.getsource(inspect.unwrap(view))
        except (OSError, TypeError):
            continue
        if JSON_READERS.search(source):
            found.append((rule, view))
    return found


def test_every_json_body_is_read_through_the_shared_helper():
    offenders = []
    for path in (PROJECT / "simulator").rglob("*.py"):
        if path.name == "jsonio.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.search(r"get_json\(|request\.json\b|args\.get\([^)]*type=int", line):
                offenders.append(f"{path.relative_to(PROJECT)}:{number}: {line.strip()}")
    assert offenders == [], "use simulator.jsonio (json_object, int_field, query_int)"


@pytest.fixture
def world(app, make_user, tmp_path):
    """A trainee with a practice paper (feedback per item), a live call and a typing task."""
    bank_io.sync_from_files(db.session, write_bank(tmp_path / "bank"))
    assert sync_library(FIXTURES)["rejected"] == 0
    for role in Role:
        make_user(f"{role.value}1", role)
    clients = {}
    for role in Role:
        client = app.test_client()
        assert login(client, f"{role.value}1", PASSWORD).status_code == 302
        clients[role] = client
    trainee = clients[Role.TRAINEE]
    token = csrf_token(trainee, "/theory/")
    resp = trainee.post("/theory/start/practice", data={"csrf_token": token, "level": "5", "area": "", "count": "5",
                                                         "feedback": "immediate"})
    assert resp.status_code == 302 and "/theory/attempts/" in resp.headers["Location"], resp.get_data(as_text=True)
    ids = {"attempt_id": int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1])}
    pass_device_check(trainee, tmp_path / "voice")         # the call page needs the microphone check
    for name, scenario in (("call", "test-runtime-lookup"), ("task", "test-typing-workorder")):
        token = csrf_token(trainee, "/practical/")
        resp = trainee.post(f"/practical/start/{scenario}", data={"csrf_token": token})
        assert resp.status_code == 302
        ids[name] = resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        page = trainee.get(resp.headers["Location"]).get_data(as_text=True)
        ids["meta"] = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return clients, ids


def _url(rule, ids) -> str | None:
    args = {}
    for name in rule.arguments:
        if name == "attempt_id":
            args[name] = ids["attempt_id"]
        elif name == "call_id":
            args[name] = ids["task"] if "/tasks/" in rule.rule else ids["call"]
        else:
            return None
    return (rule.rule.replace("<int:attempt_id>", str(args.get("attempt_id", "")))
            .replace("<call_id>", str(args.get("call_id", ""))))


def _client(clients, view):
    rule = access_rule(view)
    if rule in (PUBLIC, ANY_USER):
        return clients[Role.TRAINEE]
    return clients[Role.TRAINEE] if Role.TRAINEE in rule else clients[sorted(rule)[0]]


def _check(resp, what):
    assert resp.status_code < 500, f"{what} -> {resp.status_code}: {resp.get_data(as_text=True)[:300]}"
    if resp.status_code == 400 and resp.is_json:
        payload = resp.get_json()
        assert CJK.search(str(payload.get("error", "")) + str(payload.get("message", ""))), payload


def test_fuzz_every_json_endpoint(app, world):
    clients, ids = world
    endpoints = [(rule, view) for rule, view in json_endpoints(app) if _url(rule, ids)]
    names = {rule.endpoint for rule, _ in endpoints}
    assert {"theory.answer", "theory.check", "practical.call_action", "practical.call_work_order",
            "practical.task_draft", "practical.call_state", "practical.call_audio"} <= names, names

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies, since=query_values, seq=query_values)
    def one(body, since, seq):
        for rule, view in endpoints:
            client = _client(clients, view)
            url = _url(rule, ids)
            headers = {"X-CSRFToken": ids["meta"]}
            query = {"since": since, "seq": seq}
            if "POST" in rule.methods:
                if rule.endpoint == "practical.call_audio":
                    resp = client.post(url, query_string=query, data=b"\x00\x00" * 400, headers=headers)
                else:
                    resp = client.post(url, query_string=query, data=json.dumps(body), headers=headers,
                                       content_type="application/json")
            else:
                resp = client.get(url, query_string=query)
            _check(resp, f"{rule.rule} {body!r} since={since!r} seq={seq!r}")

    one()


@pytest.mark.parametrize("body", [{"position": 0, "seq": "abc"}, [{"position": 0}], {"position": "x"},
                                  {"position": 10 ** 30}, {"position": 0, "response": [["A"]]},
                                  {"position": 0, "response": {"A": 1}}, {"position": 0, "seq": float("nan")}])
def test_known_bad_answers_get_400_in_chinese(app, world, body):
    clients, ids = world
    resp = clients[Role.TRAINEE].post(f"/theory/attempts/{ids['attempt_id']}/answer", data=json.dumps(body),
                                      content_type="application/json", headers={"X-CSRFToken": ids["meta"]})
    assert resp.status_code == 400 and CJK.search(resp.get_json()["error"])


def test_since_abc_on_call_actions_gets_400(app, world):
    clients, ids = world
    resp = clients[Role.TRAINEE].post(f"/practical/calls/{ids['call']}/action", json={"action": "hold", "since": "abc"},
                                      headers={"X-CSRFToken": ids["meta"]})
    assert resp.status_code == 400
    resp = clients[Role.TRAINEE].get(f"/practical/calls/{ids['call']}/state?since=abc")
    assert resp.status_code == 400 and "since" in resp.get_json()["error"]
