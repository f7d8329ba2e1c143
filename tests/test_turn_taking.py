"""The turn-taking state machine on its own: a timeline of caller lines, voice activity and
transcripts, as the live call feeds it (times on the call's clock)."""
from __future__ import annotations

from softphone_sim.live.turns import HangUp, NoReply, Overtalk, Phase, Respond, TurnSettings, TurnTaking


def machine(**settings) -> TurnTaking:
    m = TurnTaking(TurnSettings(**settings))
    m.connected(0.0)
    return m


def run(m: TurnTaking, until: float, step: float = 0.25, lag: float = 0.25, start: float = 0.0) -> list:
    """Tick from ``start`` to ``until``; the agent's audio arrives ``lag`` seconds late (and the last
    0.3 s of it cannot prove silence yet: decisions come about 0.55 s after their moment)."""
    out, t = [], start
    while t <= until + 1e-9:
        out += m.tick(t, max(0.0, t - lag))
        t = round(t + step, 3)
    return out


def say(m: TurnTaking, index: int, start: float, end: float, text: str = "好的", confidence: float = 0.9) -> list:
    decisions = m.speech_started(index, start)
    m.speech_ended(index, end)
    m.transcript(index, text, confidence)
    return decisions


def test_the_opening_then_the_caller_answers_after_the_end_of_turn_pause():
    m = machine(end_of_turn_pause_s=1.6)
    say(m, 0, 1.0, 3.0, "您好，工号1035")
    assert run(m, 4.5) == [], "1.5 s after the greeting the agent may still go on"
    [decision] = run(m, 5.75, start=4.75)
    assert isinstance(decision, Respond) and decision.line == 0 and decision.text == "您好，工号1035"


def test_pauses_inside_an_answer_keep_it_one_turn():
    m = machine(end_of_turn_pause_s=1.6)
    m.caller_line(1, 0.0, 3.0)
    assert run(m, 3.0) == []
    m.speech_started(0, 4.0)
    m.speech_ended(0, 6.0)
    assert run(m, 7.4, start=6.0) == []           # a 1.4 s pause
    m.speech_started(1, 7.4)
    m.speech_ended(1, 10.0)
    m.transcript(0, "您是说", 0.9)
    m.transcript(1, "流量不够用，对吗", 0.8)
    decisions = run(m, 12.75, start=10.0)
    assert decisions == [Respond(1, "您是说，流量不够用，对吗", 0.8, (0, 1))]


def test_the_no_reply_timer_starts_when_the_line_has_finished_and_stops_when_the_agent_speaks():
    m = machine(reply_within_s=5.0)
    m.caller_line(1, 0.0, 4.0)
    assert run(m, 8.75) == [], "the 5 s start at the end of the line"
    m.speech_started(0, 8.9)                      # just in time
    assert run(m, 20.0, start=9.0) == [], "while speaking there is no no-reply"
    assert m.phase == Phase.TALKING


def test_silence_is_judged_on_audio_that_has_arrived():
    m = machine(reply_within_s=5.0)
    m.caller_line(1, 0.0, 2.0)
    # the audio runs 2 s behind the clock: at t=7.5 only audio up to 5.5 has arrived
    assert run(m, 7.5, lag=2.0) == []
    m.speech_started(0, 6.5)                      # it shows the agent started at 6.5
    assert run(m, 9.0, lag=2.0, start=7.75) == []


def test_no_reply_when_the_agent_says_nothing():
    m = machine(reply_within_s=5.0)
    m.caller_line(1, 0.0, 2.0)
    assert NoReply(1) in run(m, 8.25)


def test_the_caller_waits_for_a_transcript_still_being_decoded():
    m = machine()
    m.caller_line(1, 0.0, 2.0)
    m.speech_started(0, 3.0)
    m.speech_ended(0, 5.0)
    assert run(m, 15.0, start=2.0) == [], "no reply decided and no no-reply while the words are decoded"
    assert m.phase == Phase.HEARING
    m.transcript(0, "好的，我帮您查一下", 0.9)
    assert run(m, 15.25, start=15.25) == [Respond(1, "好的，我帮您查一下", 0.9, (0,))]


def test_speech_that_recognises_as_nothing_is_no_reply_yet():
    m = machine(reply_within_s=5.0, empty_reply_grace_s=2.0)
    m.caller_line(1, 0.0, 2.0)
    say(m, 0, 3.0, 3.3, "")                       # a cough
    assert run(m, 6.0, start=2.0) == []
    assert m.phase == Phase.AWAITING
    assert NoReply(1) in run(m, 8.75, start=6.25)


def test_talking_over_a_caller_who_stops():
    m = machine()
    m.caller_line(1, 0.0, 6.0, on_overtalk="stop")
    decisions = m.speech_started(0, 2.5)
    assert decisions == [Overtalk(1, 2.5, True)]
    assert m.line.end == 2.5 and not m.caller_speaking(3.0)
    m.speech_ended(0, 5.0)
    m.transcript(0, "您别着急", 0.9)
    assert run(m, 7.75, start=3.0) == [Respond(1, "您别着急", 0.9, (0,))]


def test_talking_over_a_caller_who_finishes_counts_towards_the_reply():
    m = machine(reply_within_s=5.0)
    m.caller_line(1, 0.0, 6.0, on_overtalk="finish")
    assert m.speech_started(0, 2.5) == [Overtalk(1, 2.5, False)]
    m.speech_ended(0, 3.5)
    m.transcript(0, "好的", 0.9)
    assert m.caller_speaking(5.0), "the caller finishes the sentence"
    assert run(m, 7.5) == [] and m.phase == Phase.AWAITING
    say(m, 1, 7.5, 9.0, "我马上为您处理")
    decisions = run(m, 11.75, start=7.75)
    assert decisions == [Respond(1, "好的，我马上为您处理", 0.9, (0, 1))]


def test_what_is_said_before_hold_is_answered_after_the_hold():
    m = machine()
    m.caller_line(1, 0.0, 2.0)
    say(m, 0, 3.0, 5.0, "请您稍等，我帮您查询，好吗")
    m.hold(5.3)
    m.speech_started(1, 8.0)                      # a remark on hold: not heard
    m.speech_ended(1, 9.0)
    assert run(m, 20.0, start=5.5) == []
    m.unhold(20.0)
    assert run(m, 20.25, start=20.25) == [Respond(1, "请您稍等，我帮您查询，好吗", 0.9, (0,))]
    assert m.utterances[1].line is None


def test_the_caller_who_said_goodbye_hangs_up_after_the_farewell_not_during_it():
    m = machine(farewell_s=4.0)
    m.caller_line(4, 0.0, 2.0, closing="farewell")
    m.speech_started(0, 3.0)
    assert run(m, 12.0, start=2.25) == [], "never hangs up while the agent is still speaking"
    m.speech_ended(0, 12.0)
    m.transcript(0, "感谢您的来电，再见", 0.9)
    decisions = run(m, 14.75, start=12.25)
    assert HangUp(4, after_farewell=True) in decisions


def test_the_caller_who_waits_for_the_agent_gives_up_after_its_patience():
    m = machine(closing_patience_s=20.0)
    m.caller_line(3, 0.0, 2.0, closing="waits")
    say(m, 0, 3.0, 4.0, "请问还有什么可以帮您")
    assert [type(d) for d in run(m, 6.75, start=2.25)] == [Respond]
    assert m.phase == Phase.AWAITING, "still waiting for the agent to hang up"
    assert HangUp(3, after_farewell=False) in run(m, 27.0, start=7.0)


def test_done_button_ends_the_turn_without_the_pause():
    m = machine(end_of_turn_pause_s=30.0)
    m.caller_line(1, 0.0, 2.0)
    say(m, 0, 3.0, 4.0, "好的")
    m.done_pressed(4.1)
    assert run(m, 4.25, start=4.25) == [Respond(1, "好的", 0.9, (0,))]


def test_the_caller_goes_on_without_waiting_for_words_it_does_not_need():
    """The opening, and a line whose script goes on whatever is said: the caller answers when the
    agent's turn is over, even while the recogniser is still busy (a slow server)."""
    m = machine(end_of_turn_pause_s=1.6)
    m.speech_started(0, 1.0)
    m.speech_ended(0, 3.0)                        # no transcript yet
    [decision] = run(m, 5.75, start=3.0)
    assert isinstance(decision, Respond) and decision.line == 0 and decision.utterances == (0,)
    m.caller_line(1, 5.0, 7.0, needs_words=False)
    m.speech_started(1, 8.0)
    m.speech_ended(1, 10.0)
    assert [type(d) for d in run(m, 12.75, start=7.25)] == [Respond]


def test_a_line_the_script_branches_on_waits_for_the_words():
    m = machine(end_of_turn_pause_s=1.6)
    m.caller_line(1, 0.0, 2.0, needs_words=True)
    m.speech_started(0, 3.0)
    m.speech_ended(0, 5.0)
    assert run(m, 20.0, start=2.25) == []
    m.transcript(0, "好的", 0.9)
    assert run(m, 20.25, start=20.25) == [Respond(1, "好的", 0.9, (0,))]


def test_a_cough_is_not_taken_for_an_answer_before_its_words_are_known():
    m = machine(end_of_turn_pause_s=1.6)
    m.caller_line(1, 0.0, 2.0, needs_words=False)
    m.speech_started(0, 3.0)
    m.speech_ended(0, 3.3)
    assert run(m, 8.0, start=2.25) == [], "0.3 s of voice: wait for the recogniser to say what it was"


def test_audio_that_arrives_late_is_waited_for_and_audio_that_stopped_is_not():
    m = machine(end_of_turn_pause_s=1.6, audio_stall_s=4.0)
    m.caller_line(1, 0.0, 2.0)
    m.speech_started(0, 3.0)
    m.speech_ended(0, 5.0)
    m.transcript(0, "好的", 0.9)
    # the audio runs 6 s behind the clock but keeps arriving: the 1.6 s pause is not heard yet
    out = []
    for k in range(29):
        now = 5.0 + k * 0.25
        out += m.tick(now, now - 6.0, last_arrival=now)
    assert out == [] and m.phase == Phase.PAUSED
    # then the chunks stop coming, audio up to 6.25: the microphone is gone after 4 s without a chunk
    assert m.tick(15.0, 6.25, last_arrival=12.0) == []
    assert m.tick(16.25, 6.25, last_arrival=12.0) == [Respond(1, "好的", 0.9, (0,))]


def test_a_pause_that_ends_just_before_the_end_of_turn_is_not_taken_for_the_end():
    """Voice activity reports speech 0.25 s after it began; until then the audio cannot prove the
    pause went on, so a 1.45 s pause is never cut short."""
    m = machine(end_of_turn_pause_s=1.6)
    m.caller_line(1, 0.0, 2.0)
    say(m, 0, 3.0, 6.0, "根据您的用量")
    resume = 7.45                                 # the trainee goes on after 1.45 s
    out, t = [], 6.0
    while t < resume + 0.25:                      # the chunks before voice activity can tell
        out += m.tick(t + 0.05, t)                # audio arrives 50 ms behind the clock
        t = round(t + 0.032, 3)                   # one VAD frame at a time
    assert out == [], "the turn did not end inside a pause shorter than the end-of-turn pause"
    m.speech_started(1, resume)
    m.speech_ended(1, 9.0)
    m.transcript(1, "推荐您选择七十八元的套餐", 0.9)
    decisions = run(m, 11.5, start=9.25)
    assert decisions == [Respond(1, "根据您的用量，推荐您选择七十八元的套餐", 0.9, (0, 1))]
