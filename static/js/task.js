// Non-call practical tasks: countdown, draft autosave, optional voice answer, submit once.
(function () {
  "use strict";
  const root = document.getElementById("task");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const text = $("text"), typed = $("typed");
  let remaining = parseInt(root.dataset.remaining, 10), submitted = false, lastSaved = "", audioBlob = null;

  // The server refuses anything after the time limit and grades what it saved in time: say so and go there.
  function timeUp(data) {
    submitted = true;
    $("submit").disabled = true;
    $("submit-error").textContent = (data && data.error) || "作答时间已到。";
    if (data && data.result_url) setTimeout(() => { window.location.href = data.result_url; }, 3000);
  }
  function draft() { return {text: text ? text.value : "", typed: typed ? typed.value : ""}; }
  async function saveDraft() {
    const body = JSON.stringify(draft());
    if (body === lastSaved || submitted) return;
    try {
      const r = await fetch(root.dataset.draftUrl, {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body});
      if (r.ok) { lastSaved = body; $("save-state").textContent = "已自动保存"; $("save-state").className = "save-state saved"; }
      else if (r.status === 409) { timeUp(await r.json()); }
      else { $("save-state").textContent = "保存失败"; $("save-state").className = "save-state failed"; }
    } catch (e) { $("save-state").textContent = "网络中断，答案暂存在本页"; $("save-state").className = "save-state failed"; }
  }
  lastSaved = JSON.stringify(draft());
  setInterval(saveDraft, 5000);
  if (typed) typed.addEventListener("paste", (ev) => { ev.preventDefault(); $("save-state").textContent = "录入题不能粘贴"; });

  function tick() {
    const m = Math.floor(Math.max(0, remaining) / 60), s = Math.max(0, remaining) % 60;
    $("timer").textContent = String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
    if (remaining <= 0 && !submitted) submit(true);
    remaining -= 1;
  }
  tick(); setInterval(tick, 1000);

  // voice answer
  let recorder = null, chunks = [];
  const start = $("rec-start"), stop = $("rec-stop");
  if (start) start.addEventListener("click", async () => {
    $("rec-error").textContent = "";
    try {
      const media = await navigator.mediaDevices.getUserMedia({audio: true});
      recorder = new MediaRecorder(media); chunks = [];
      recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
      recorder.onstop = () => {
        audioBlob = new Blob(chunks, {type: recorder.mimeType || "audio/webm"});
        $("rec-preview").src = URL.createObjectURL(audioBlob); $("rec-preview").hidden = false;
        media.getTracks().forEach((t) => t.stop());
      };
      recorder.start(); start.disabled = true; stop.disabled = false;
      // The server refuses answers longer than this: stop the recording there rather than lose it.
      const limit = parseInt(root.dataset.maxAnswerS || "0", 10);
      if (limit > 0) setTimeout(() => { if (recorder && recorder.state === "recording") {
        recorder.stop(); stop.disabled = true; start.disabled = false;
        $("rec-error").textContent = `录音已达到最长 ${Math.round(limit / 60 * 10) / 10} 分钟，已自动停止。`;
      } }, limit * 1000);
    } catch (err) {
      $("rec-error").textContent = err && err.name === "NotAllowedError"
        ? "麦克风权限被拒绝。请在浏览器地址栏左侧允许本网站使用麦克风，或改用文字作答。"
        : "无法打开麦克风：" + (err && err.message ? err.message : err);
    }
  });
  if (stop) stop.addEventListener("click", () => { if (recorder) recorder.stop(); stop.disabled = true; start.disabled = false; });

  async function submit(auto) {
    if (submitted) return;
    submitted = true;
    $("submit").disabled = true;
    $("submit-error").textContent = auto ? "时间到，正在自动提交…" : "正在评分…";
    const form = new FormData();
    const d = draft(); form.append("text", d.text); form.append("typed", d.typed);
    if (audioBlob) form.append("audio", audioBlob, "answer.webm");
    try {
      const r = await fetch(root.dataset.submitUrl, {method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": csrf}, body: form});
      const data = await r.json();
      if (r.ok && data.result_url) { window.location.href = data.result_url; return; }
      if (r.status === 409 && data.time_up) { timeUp(data); return; }
      $("submit-error").textContent = data.error || "提交失败，请重试";
    } catch (e) { $("submit-error").textContent = "网络中断，答案已暂存，请稍后再提交"; }
    submitted = false; $("submit").disabled = false;
  }
  $("submit").addEventListener("click", () => submit(false));
})();
