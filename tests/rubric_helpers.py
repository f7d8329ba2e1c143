"""Shared builders for the rubric tests: a call-record/1 builder, a compact scenario and a taboo list."""

TABOOS = {
    "common_taboos": [
        {"phrase": "不知道", "say_instead": "这个问题我帮您确认一下"},
        {"phrase": "没办法", "say_instead": "我们一起想想其他办法"},
        {"phrase": "不行", "say_instead": "这样可能不太方便，我建议您……"},
        {"phrase": "你问我我问谁", "say_instead": "这个问题我帮您咨询一下"},
        {"phrase": "有意见找领导去", "say_instead": "您的意见我会如实反映"},
        {"phrase": "喂喂", "say_instead": "您好，请问能听到吗"},
    ],
    "common_fillers": ["嗯", "啊", "那个", "呃"],
}


class Call:
    """A small builder of call-record/1 documents. Times advance on their own: each agent line lasts
    as long as it takes to say at ``rate`` characters a minute, with ``gap`` seconds before it."""

    def __init__(self, *, agent_number="1035", rings=2, direction="inbound", rate=110.0, gap=1.0):
        self.rate, self.gap = rate, gap
        self.t = 0.0
        self.index = 0
        self.events = [{"t": 0.0, "type": "queued" if direction == "inbound" else "dialing"}]
        self.direction = direction
        self.agent_number = agent_number
        self.work = None
        if direction == "inbound" and rings is not None:
            for n in range(1, rings + 1):
                self.t = 2.0 + 3.0 * (n - 1)
                self.events.append({"t": self.t, "type": "ring", "n": n})
            self.t += 1.0
            self.events.append({"t": self.t, "type": "answered", "rings": rings})

    def agent(self, text, *, start=None, dur=None, confidence=0.9, words=None):
        start = self.t + self.gap if start is None else start
        chars = len([c for c in text if c.isalnum()])
        dur = chars * 60.0 / self.rate if dur is None else dur
        tr = {"text": text, "engine": "test", "model": "none", "confidence": confidence, "words": words or []}
        self.events.append({"t": start, "type": "agent_utterance", "index": self.index, "start": start,
                            "end": start + dur, "audio": f"agent/{self.index:03d}.webm", "transcript": tr})
        self.index += 1
        self.t = start + dur
        return self

    def caller(self, turn, text="好的", *, start=None, dur=2.0, spoken=None, condition="none"):
        start = self.t + 0.5 if start is None else start
        self.events.append({"t": start, "type": "caller_utterance", "turn": turn, "text": text,
                            "spoken": text if spoken is None else spoken, "audio": f"caller/{turn}.wav",
                            "start": start, "end": start + dur, "condition": condition})
        self.t = start + dur
        return self

    def hold(self, seconds, *, start=None):
        start = self.t + 0.5 if start is None else start
        self.events.append({"t": start, "type": "hold", "on": True})
        self.events.append({"t": start + seconds, "type": "hold", "on": False})
        self.t = start + seconds
        return self

    def transfer(self, target, *, outcome="busy", kind="blind"):
        self.t += 0.5
        self.events.append({"t": self.t, "type": "transfer", "kind": kind, "target": target, "outcome": outcome})
        return self

    def work_order(self, valid=True, **fields):
        self.t += 0.5
        self.work = dict(fields)
        self.events.append({"t": self.t, "type": "work_order", "valid": valid, "fields": dict(fields)})
        return self

    def event(self, type_, **fields):
        self.t = fields.pop("t", self.t + 0.5)
        self.events.append({"t": self.t, "type": type_, **fields})
        return self

    def hangup(self, by="caller", *, after=1.0):
        self.t += after
        self.events.append({"t": self.t, "type": "hangup", "by": by})
        return self

    def build(self):
        events = sorted(self.events, key=lambda e: e["t"])
        ended = next((e.get("by") for e in events if e["type"] == "hangup"), None)
        return {"format": "call-record/1", "call_id": "test-call", "scenario": {"id": "t-scn", "version": 1},
                "mode": "practice", "agent": {"user_id": 1, "agent_number": self.agent_number},
                "direction": self.direction, "started_at": "2026-11-22T09:30:00Z",
                "duration_s": round(events[-1]["t"] + 2.0, 3), "ended_by": ended, "events": events,
                "work_order": self.work}


def scenario(*items, ballast=True, **top):
    """A compact scenario; a ``rings`` item (answered in ≤ 9 rings) tops the points up to 100."""
    items = [dict(i) for i in items]
    used = sum(i.get("points", 0) for i in items)
    if ballast and used < 100:
        items.append({"id": "ballast", "kind": "rings", "label": "接听", "points": 100 - used, "max": 9})
    data = {"id": "t-scn", "title": "测试", "level": 5, "agent_number": "1035", "rubric": {"items": items}}
    data.update(top)
    return data
