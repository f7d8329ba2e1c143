// Theory paper: every answer is saved the moment it is given; the server's clock is the only clock.
(function () {
  "use strict";
  const exam = document.getElementById("exam");
  if (!exam) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const saveState = document.getElementById("save-state");
  const answeredEl = document.getElementById("answered");
  // The server orders answers: each answer carries the revision the server gave it, and a change is
  // sent with the revision this page last saw ("base"). If another tab changed the answer since, the
  // server refuses with the current answer, which this page then shows.
  const revisions = new Map();     // position -> last revision seen from the server
  document.querySelectorAll(".question").forEach((s) => revisions.set(Number(s.dataset.position), Number(s.dataset.revision || 0)));
  const pending = new Map();       // position -> payload not yet confirmed by the server
  const inflight = new Set();      // positions with a request on its way: one at a time, in order
  let closed = false;

  function toResult() { closed = true; window.location.href = exam.dataset.resultUrl; }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body),
    }).then(async (resp) => {
      let data = {};
      try { data = await resp.json(); } catch (e) { /* non-JSON error page */ }
      if (resp.status === 409 && data.closed) { toResult(); throw new Error("closed"); }
      if (resp.status === 409 && data.stale) { const err = new Error(data.error); err.stale = data.current; throw err; }
      if (resp.status === 401 || resp.redirected) { throw new Error("登录已失效，请重新登录后继续作答（已作答的内容不会丢失）"); }
      if (!resp.ok || !data.ok) {
        const err = new Error(data.error || data.message || "保存失败");
        err.final = resp.status === 400 || resp.status === 403;
        throw err;
      }
      return data;
    });
  }

  function responseOf(section) {
    return Array.from(section.querySelectorAll(".options input:checked")).map((i) => i.value);
  }

  function paint(section) {
    const pal = document.getElementById("pal-" + section.dataset.position);
    pal.classList.toggle("answered", responseOf(section).length > 0);
    pal.classList.toggle("flagged", section.querySelector(".flag").checked);
  }

  // Another window changed this answer: show the stored answer and say so; the candidate may answer again.
  function showCurrent(position, current, message) {
    const section = document.getElementById("q-" + position);
    revisions.set(position, current.revision);
    section.querySelectorAll(".options input").forEach((i) => { i.checked = current.response.includes(i.value); });
    section.querySelector(".flag").checked = current.flagged;
    section.dataset.revision = current.revision;
    let note = section.querySelector(".conflict");
    if (!note) {
      note = document.createElement("p");
      note.className = "conflict";
      note.setAttribute("role", "alert");
      note.dataset.testid = "conflict-" + (position + 1);
      section.querySelector(".options").after(note);
    }
    note.textContent = message;
    paint(section);
  }

  function send(position, attempt) {
    const payload = pending.get(position);
    if (!payload || closed || inflight.has(position)) return;
    inflight.add(position);
    saveState.textContent = "正在保存…";
    saveState.className = "save-state saving";
    post(exam.dataset.answerUrl, Object.assign({base: revisions.get(position) || 0}, payload)).then((data) => {
      inflight.delete(position);
      revisions.set(position, data.answer.revision);
      if (pending.get(position) === payload) pending.delete(position);
      answeredEl.textContent = data.answered;
      if (pending.has(position)) { send(position, 0); return; }   // a newer change waited for this one
      if (pending.size === 0) { saveState.textContent = "已保存"; saveState.className = "save-state saved"; }
    }).catch((err) => {
      inflight.delete(position);
      if (closed) return;
      if (err.stale) {
        pending.delete(position);
        showCurrent(position, err.stale, err.message);
        saveState.textContent = "第 " + (position + 1) + " 题已按另一窗口的最新答案显示";
        saveState.className = "save-state failed";
        return;
      }
      saveState.textContent = err.message + (err.final ? "" : "，正在重试…");
      saveState.className = "save-state failed";
      if (!err.final) setTimeout(() => send(position, (attempt || 0) + 1), Math.min(30000, 1000 * 2 ** (attempt || 0)));
      else pending.delete(position);
    });
  }

  function changed(section, withResponse) {
    const position = Number(section.dataset.position);
    const previous = pending.get(position);
    const payload = {position: position, flagged: section.querySelector(".flag").checked};
    if (withResponse || (previous && previous.response)) payload.response = responseOf(section);
    pending.set(position, payload);
    const note = section.querySelector(".conflict");
    if (note && withResponse) note.remove();
    paint(section);
    send(position, 0);
  }

  exam.addEventListener("change", (event) => {
    const section = event.target.closest(".question");
    if (!section) return;
    changed(section, !event.target.classList.contains("flag"));
  });

  exam.addEventListener("click", (event) => {
    if (!event.target.classList.contains("check-btn")) return;
    const section = event.target.closest(".question");
    const position = Number(section.dataset.position);
    if (pending.has(position)) { saveState.textContent = "请等答案保存后再查看解析"; return; }
    post(exam.dataset.checkUrl, {position: position}).then((data) => {
      const fb = data.feedback;
      const box = section.querySelector(".feedback");
      box.replaceChildren();
      const verdict = document.createElement("p");
      verdict.className = "verdict " + (fb.correct ? "ok" : "bad");
      verdict.dataset.testid = "verdict";
      verdict.textContent = fb.summary;
      document.getElementById("pal-" + position).classList.toggle("wrong", !fb.correct);
      const why = document.createElement("p"); why.textContent = fb.explanation;
      const src = document.createElement("p"); src.className = "muted"; src.textContent = "依据：" + fb.source;
      box.append(verdict, why, src);
      box.hidden = false;
      event.target.hidden = true;
      section.querySelectorAll(".options input").forEach((i) => { i.disabled = true; });
    }).catch((err) => { if (!closed) saveState.textContent = err.message; });
  });

  // Timer: counts down locally, re-synchronised with the server every 30 s.
  const timerEl = document.getElementById("timer");
  let deadline = exam.dataset.secondsLeft === "" ? null : Date.now() + Number(exam.dataset.secondsLeft) * 1000;
  function tick() {
    if (deadline === null || !timerEl) return;
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timerEl.textContent = String(Math.floor(left / 60)).padStart(2, "0") + ":" + String(left % 60).padStart(2, "0");
    timerEl.parentElement.classList.toggle("urgent", left <= 300);
  }
  function sync() {
    fetch(exam.dataset.stateUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then((r) => r.json()).then((data) => {
        if (data.status !== "in_progress") { toResult(); return; }
        if (data.seconds_left !== null) deadline = Date.now() + data.seconds_left * 1000;
      }).catch(() => {});
  }
  if (deadline !== null) {
    tick();
    setInterval(tick, 1000);
    setInterval(sync, 30000);
    setInterval(() => { if (deadline - Date.now() < -2000) sync(); }, 5000);
  }

  // Submit: confirm, listing the unanswered questions.
  const dialog = document.getElementById("submit-dialog");
  document.getElementById("open-submit").addEventListener("click", () => {
    const missing = Array.from(document.querySelectorAll(".question"))
      .filter((s) => responseOf(s).length === 0).map((s) => Number(s.dataset.position) + 1);
    document.getElementById("unanswered-note").textContent = missing.length
      ? "还有 " + missing.length + " 道题未作答：第 " + missing.join("、") + " 题。"
      : "全部题目均已作答。";
    dialog.showModal();
  });
  document.getElementById("cancel-submit").addEventListener("click", () => dialog.close());
  document.getElementById("submit-form").addEventListener("submit", (event) => {
    if (pending.size > 0) {
      event.preventDefault();
      saveState.textContent = "正在保存最后的答案，请稍候再交卷…";
      pending.forEach((_, position) => send(position, 0));
      return;
    }
    closed = true;
    event.submitter && (event.submitter.disabled = true);
  });

  window.addEventListener("beforeunload", (event) => {
    if (pending.size > 0 && !closed) { event.preventDefault(); event.returnValue = ""; }
  });
})();
