"""The house rules that no single feature test would notice breaking: test modules share fixtures and
helpers through tests/conftest.py and tests/helpers.py, never by importing one another; page scripts
take their words for codes from the one label source (simulator/labels.py) that templates use."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from simulator import labels
from tests.helpers import login

TESTS = Path(__file__).resolve().parent
STATIC_JS = TESTS.parent / "static" / "js"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another():
    offenders = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        others = {m for m in _imported_modules(path)
                  if re.fullmatch(r"tests(\.browser)?\.test_\w+", m) or re.fullmatch(r"\.?test_\w+", m)}
        if others:
            offenders[str(path.relative_to(TESTS))] = sorted(others)
    assert not offenders, f"shared code belongs in conftest.py or helpers.py: {offenders}"


def test_page_scripts_get_their_words_from_the_label_source(app, users):
    client = app.test_client()
    login(client, "trainee1", "correct-horse-1")
    page = client.get("/trainee").get_data(as_text=True)
    blob = re.search(r'<script type="application/json" id="labels"[^>]*>(.*?)</script>', page, re.S).group(1)
    assert json.loads(blob) == json.loads(json.dumps(labels.for_scripts()))
    assert json.loads(blob)["levels"]["5"] == "五级" and json.loads(blob)["call_states"]["talking"] == "通话中"

    scripts = {p.name: p.read_text("utf-8") for p in STATIC_JS.glob("*.js")}
    for group in ("levels", "tasks", "call_states", "work_order_fields"):
        for code, words in labels.for_scripts()[group].items():
            copies = [name for name, text in scripts.items() if f'"{words}"' in text or f"'{words}'" in text]
            assert not copies, f"{group}.{code} ({words}) is spelled out in {copies}, not read from the labels"
    for name in ("softphone.js", "proctor.js"):
        assert 'getElementById("labels")' in scripts[name], name
