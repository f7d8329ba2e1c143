// The softphone page: call controls, the caller's voice, live captions, the work order, and the
// microphone streamed to the server as 16 kHz mono 16-bit PCM in numbered chunks. A chunk stays in
// the outbox until the server acknowledges it, so a lost connection resends instead of losing speech.
// The call starts (an inbound call queues and rings, an outbound one may be dialled) only once the
// microphone delivers audio: the page then sends "begin". The caller's voice plays through Web Audio,
// so an AnalyserNode drives the "customer is speaking" meter.
(function () {
  "use strict";
  const root = document.getElementById("softphone");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const url = (name) => root.dataset[name];
  const RATE = 16000;
  const CHUNK_SAMPLES = RATE / 4;               // 250 ms per request
  const LIVE_STATES = ["talking", "on_hold", "muted", "consulting"];
  // the page's one label source (simulator/labels.py), the same words the templates use
  const STATE_TEXT = JSON.parse(document.getElementById("labels").textContent).call_states;

  let since = 0, state = "queued", callT = 0, finished = false, started = false, begun = false;
  let workOrderValid = false;
  let nextSeq = parseInt(root.dataset.nextSeq || "0", 10);
  // A page that resumes a call (reload, browser reopened) starts a new recording: the server fills the
  // time it was away with silence. Chunks held back by a slow network are contiguous and need no fill.
  let resyncSeq = nextSeq > 0 ? nextSeq : -1;
  const outbox = [];                            // [{seq, body}]
  let sending = false, micReady = false, audioCtx = null, pending = [], pendingLen = 0;
  const playQueue = [];                        // [{url, n}]
  let playing = null;                           // {n, stop()}
  let callerAnalyser = null, callerMeter = null;

  const $ = (id) => document.getElementById(id);
  function logLine(text, words) {
    const li = document.createElement("li");
    li.textContent = `[${formatTime(callT)}] ${text}`;
    if (words) {                                // shown only when the trainee turns 显示客户原话 on
      const span = document.createElement("span");
      span.className = "caller-words";
      span.textContent = "：" + words;
      li.appendChild(span);
    }
    $("call-log").appendChild(li);
    li.scrollIntoView({block: "nearest"});
    return li;
  }
  function formatTime(t) {
    const s = Math.max(0, Math.floor(t));
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  function setNet(text) { $("net-state").textContent = text || ""; }

  async function postJSON(target, body) {
    const resp = await fetch(target, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body)});
    let data = {};
    try { data = await resp.json(); } catch (e) { data = {error: "服务器返回了无法识别的内容"}; }
    if (resp.status === 401 || resp.redirected) data.error = "登录已过期，请重新登录后回到本页继续。";
    return {ok: resp.ok, status: resp.status, data};
  }

  // ---- server state and events --------------------------------------------------------------
  function applyPayload(payload) {
    if (!payload || !payload.view) return;
    const v = payload.view;
    state = v.state; callT = v.t;
    $("call-state").textContent = STATE_TEXT[state] || v.state_label;
    $("call-state").className = "call-state " + state;
    $("call-timer").textContent = formatTime(v.t);
    if (v.finished) finished = true;
    if (v.started) started = true;
    $("agent-speaking").hidden = !(v.agent_speaking && LIVE_STATES.includes(state));
    for (const e of payload.events || []) handleEvent(e);
    updateButtons();
  }

  function handleEvent(e) {
    if (e.id <= since) return;
    since = e.id;
    switch (e.type) {
      case "ring": $("rings").textContent = `振铃 ${e.n} 声`; ringTone(); break;
      case "ivr": $("ivr").textContent = "IVR 路径：" + e.choices.map((c) => `${c.key} ${c.label}`).join(" → "); break;
      case "answered": $("rings").textContent = `第 ${e.rings} 声接起`; logLine("已接听"); startStreaming(); break;
      case "dialing": logLine(`正在拨打 ${e.number}`); break;
      case "outbound_result":
        logLine({answered: "对方已接听", not_customer: "对方已接听（非本人）", no_answer: "无人接听", busy: "对方忙"}[e.outcome] || e.outcome);
        if (e.outcome === "answered" || e.outcome === "not_customer") startStreaming();
        break;
      case "cti": showCti(e); break;
      case "caller_line":
        logLine(`客户说话（${Math.max(1, Math.round(e.duration_s || 0))} 秒）`, e.text);
        playQueue.push({url: url("filesUrl") + e.audio, n: e.n}); playNext();
        break;
      case "caller_line_end":
        // The caller stopped early (the trainee talked over them): stop the voice where it is.
        if (e.cut_short && playing && playing.n === e.n) playing.stop();
        break;
      case "overtalk": logLine(e.caller_stops ? "您在客户说话时开口，客户停下来听您说" : "您在客户说话时开口（抢话）"); break;
      case "abandoned_by_system": logLine("通话因长时间无操作已关闭，记录已保存"); stopPlayback(); finished = true; break;
      case "started": logLine(root.dataset.direction === "outbound" ? "麦克风已就绪，可以拨号" : "麦克风已就绪，等待来电"); break;
      case "caption":
        if (e.final) {
          $("partial").textContent = "";
          if (e.text) {
            const li = document.createElement("li");
            li.textContent = e.text + (e.heard === false ? "（客户未听到）" : "");
            $("captions").appendChild(li);
          }
        } else $("partial").textContent = e.text + "…";
        break;
      case "no_reply": logLine("客户没有听到您的回应"); break;
      case "hold_ended": logLine(`结束保持，共 ${Math.round(e.held_s)} 秒`); break;
      case "transfer": logLine(`转接${e.label}：${{success: "成功", busy: "忙线", no_answer: "无人接听"}[e.outcome]}`); break;
      case "hangup": logLine({caller: "客户已挂机", agent: "您已挂机", line: "线路中断"}[e.by] || "通话结束"); stopPlayback(); break;
      case "abandoned": logLine("客户等待过久，已放弃呼叫"); break;
      case "state": break;
      case "work_order": workOrderValid = !!e.valid; break;
      case "finished": finished = true; break;
      default: break;
    }
  }

  function showCti(e) {
    const box = $("cti");
    box.innerHTML = "<p class='muted'>正在查询客户资料…</p>";
    setTimeout(() => {
      box.textContent = "";
      if (e.outcome !== "ok" || !e.customer) {
        const p = document.createElement("p"); p.className = "error"; p.textContent = e.message || "查询失败";
        box.appendChild(p); return;
      }
      const c = e.customer, dl = document.createElement("dl"); dl.className = "facts";
      const add = (k, val) => { if (!val || (Array.isArray(val) && !val.length)) return;
        const dt = document.createElement("dt"); dt.textContent = k; const dd = document.createElement("dd");
        dd.textContent = Array.isArray(val) ? val.map((x) => typeof x === "object" ? Object.values(x).join(" ") : x).join("；") : val;
        dl.append(dt, dd); };
      add("姓名", c.name); add("电话", c.phone); add("账户", c.account); add("产品", c.products); add("工单", c.tickets);
      for (const [k, val] of Object.entries(c)) if (!["name", "phone", "account", "products", "tickets"].includes(k)) add(k, val);
      box.appendChild(dl);
    }, Math.min(10, e.delay_s || 0) * 1000);
  }

  function updateButtons() {
    const live = LIVE_STATES.includes(state);
    const enable = {
      answer: state === "ringing", dial: state === "dialing" && micReady && started,
      hold: state === "talking", unhold: state === "on_hold", mute: state === "talking", unmute: state === "muted",
      end_turn: state === "talking", hangup: live, cti_lookup: live || state === "wrap_up",
      complete_transfer: state === "consulting", cancel_consult: state === "consulting",
    };
    root.querySelectorAll("[data-action]").forEach((b) => {
      b.disabled = !enable[b.dataset.action] || (b.dataset.action === "answer" && !micReady);
    });
    root.querySelectorAll("[data-transfer]").forEach((b) => { b.disabled = state !== "talking"; });
    $("finish").disabled = !(state === "wrap_up" || state === "ended") || finished;
  }

  async function poll() {
    if (finished) return;
    try {
      const resp = await fetch(url("stateUrl") + "?since=" + since, {credentials: "same-origin", headers: {"Accept": "application/json"}});
      if (resp.status === 410) {
        let info = {};
        try { info = await resp.json(); } catch (e) { /* keep the default message */ }
        setNet(info.error || "通话已中断，已保存的内容不会丢失。"); finished = true; stopPlayback();
        if (info.result_url) setTimeout(() => { window.location.href = info.result_url; }, 4000);
        return;
      }
      if (resp.ok) { setNet(outbox.length > 8 ? "网络较慢，正在补传语音…" : ""); applyPayload(await resp.json()); }
    } catch (err) { setNet("网络中断，正在重连…"); }
  }

  async function act(action, extra) {
    const r = await postJSON(url("actionUrl"), Object.assign({action, since}, extra || {}));
    if (!r.ok) { logLine(r.data.error || "操作失败"); return; }
    applyPayload(r.data);
  }

  // ---- the caller's voice ------------------------------------------------------------------
  function showCaller(on) {
    $("caller-speaking").hidden = !on;
    if (!on) $("caller-level").style.width = "0";
  }
  function callerLevel() {
    if (!callerAnalyser) return;
    const buf = new Float32Array(callerAnalyser.fftSize);
    callerAnalyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
    const db = 20 * Math.log10(Math.sqrt(sum / buf.length) || 1e-9);
    $("caller-level").style.width = Math.max(0, Math.min(100, (db + 60) / 60 * 100)) + "%";
  }
  function done() { playing = null; showCaller(false); playNext(); }
  async function playNext() {
    if (playing || !playQueue.length) return;
    const item = playQueue.shift();
    if (!audioCtx) {                            // no microphone yet (a reload): plain playback, no meter
      const el = new Audio(item.url);
      playing = {n: item.n, stop: () => { el.pause(); done(); }};
      el.onended = el.onerror = done;
      showCaller(true);
      el.play().catch(() => { done(); logLine("无法自动播放客户语音，请点击页面任意位置后重试"); });
      return;
    }
    let stopped = false;
    playing = {n: item.n, stop: () => { stopped = true; }};
    try {
      const resp = await fetch(item.url, {credentials: "same-origin"});
      const buffer = await audioCtx.decodeAudioData(await resp.arrayBuffer());
      if (stopped) { done(); return; }
      if (!callerAnalyser) {
        callerAnalyser = audioCtx.createAnalyser();
        callerAnalyser.fftSize = 1024;
        callerAnalyser.connect(audioCtx.destination);
      }
      const source = audioCtx.createBufferSource();
      source.buffer = buffer;
      source.connect(callerAnalyser);
      source.onended = () => { if (playing && playing.source === source) done(); };
      playing = {n: item.n, source, stop: () => { try { source.stop(); } catch (e) { /* not started */ } }};
      showCaller(true);
      if (!callerMeter) callerMeter = setInterval(callerLevel, 80);
      source.start();
    } catch (err) {
      done();
      logLine("客户语音加载失败");
    }
  }
  function stopPlayback() { playQueue.length = 0; if (playing) playing.stop(); showCaller(false); }
  function ringTone() {
    if (!audioCtx) return;
    const osc = audioCtx.createOscillator(), gain = audioCtx.createGain();
    osc.frequency.value = 450; gain.gain.value = 0.05;
    osc.connect(gain).connect(audioCtx.destination);
    osc.start(); osc.stop(audioCtx.currentTime + 0.8);
  }

  // ---- the microphone ----------------------------------------------------------------------
  let streaming = false;
  async function enableMic() {
    $("mic-error").textContent = "";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("mic-error").textContent = "当前浏览器不支持麦克风录音，请使用最新版 Chrome、Edge 或 Firefox，并通过 https 或本机地址访问。";
      return;
    }
    try {
      const media = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation: true,
        noiseSuppression: true, autoGainControl: true}});
      audioCtx = new AudioContext({sampleRate: RATE});
      const source = audioCtx.createMediaStreamSource(media);
      try {
        // Some browsers (headless Chromium among them) never settle addModule: give it 3 s.
        await Promise.race([audioCtx.audioWorklet.addModule(url("workletUrl")),
          new Promise((_, reject) => setTimeout(() => reject(new Error("worklet timeout")), 3000))]);
        const node = new AudioWorkletNode(audioCtx, "pcm-capture");
        node.port.onmessage = (msg) => { micLive(); if (streaming) collect(msg.data); };
        source.connect(node);
      } catch (workletError) {
        const node = audioCtx.createScriptProcessor(4096, 1, 1);
        node.onaudioprocess = (ev) => { micLive(); if (streaming) collect(ev.inputBuffer.getChannelData(0).slice(0)); };
        const mute = audioCtx.createGain(); mute.gain.value = 0;     // the node must reach the output to run
        source.connect(node); node.connect(mute); mute.connect(audioCtx.destination);
      }
      micReady = true;
      $("mic-gate").classList.add("ready");
      updateButtons();
    } catch (err) {
      const name = err && err.name;
      $("mic-error").textContent = name === "NotAllowedError" || name === "SecurityError"
        ? "麦克风权限被拒绝。请点击浏览器地址栏左侧的图标，允许本网站使用麦克风，然后刷新页面。"
        : name === "NotFoundError" ? "没有检测到麦克风，请连接耳麦后刷新页面。"
        : "无法打开麦克风：" + (err && err.message ? err.message : err);
    }
  }

  function startStreaming() { streaming = true; }

  // The microphone is live once it delivers samples: only then may the phone ring (or be dialled).
  function micLive() {
    if (begun || root.dataset.live !== "1") return;
    begun = true;
    if (!started) act("begin");
  }

  function collect(samples) {
    if (state === "wrap_up" || state === "ended") { streaming = false; return; }
    const ratio = audioCtx.sampleRate / RATE;
    let data = samples;
    if (ratio !== 1) {                          // browsers that ignore the requested rate
      const n = Math.floor(samples.length / ratio);
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = samples[Math.floor(i * ratio)];
    }
    pending.push(data); pendingLen += data.length;
    while (pendingLen >= CHUNK_SAMPLES) {
      const pcm = new Int16Array(CHUNK_SAMPLES);
      let filled = 0;
      while (filled < CHUNK_SAMPLES) {
        const head = pending[0], take = Math.min(head.length, CHUNK_SAMPLES - filled);
        for (let i = 0; i < take; i++) pcm[filled + i] = Math.max(-32768, Math.min(32767, Math.round(head[i] * 32767)));
        filled += take;
        if (take === head.length) pending.shift(); else pending[0] = head.subarray(take);
      }
      pendingLen -= CHUNK_SAMPLES;
      outbox.push({seq: nextSeq++, body: pcm.buffer});
    }
    sendOutbox();
  }

  async function sendOutbox() {
    if (sending || !outbox.length) return;
    sending = true;
    try {
      while (outbox.length) {
        const chunk = outbox[0];
        let resp;
        try {
          const resync = chunk.seq === resyncSeq ? "&resync=1" : "";
          resp = await fetch(`${url("audioUrl")}?seq=${chunk.seq}&since=${since}${resync}`, {method: "POST",
            credentials: "same-origin", headers: {"Content-Type": "application/octet-stream", "X-CSRFToken": csrf},
            body: chunk.body});
        } catch (err) {
          setNet("网络中断，正在重连…（已说的话会自动补传）");
          await new Promise((r) => setTimeout(r, 1000));
          continue;
        }
        if (resp.status === 409) {
          const info = await resp.json();
          if (typeof info.expected === "number") {
            while (outbox.length && outbox[0].seq < info.expected) outbox.shift();
            if (outbox.length && outbox[0].seq > info.expected) { setNet("部分语音无法补传"); outbox.length = 0; }
          }
          continue;
        }
        if (resp.status === 410) { outbox.length = 0; finished = true; setNet("通话已中断，已保存的内容不会丢失。"); break; }
        if (!resp.ok) { setNet("语音上传失败（" + resp.status + "）"); await new Promise((r) => setTimeout(r, 1000)); continue; }
        outbox.shift();
        setNet(outbox.length > 8 ? "网络较慢，正在补传语音…" : "");
        applyPayload(await resp.json());
      }
    } finally { sending = false; }
  }

  // ---- controls ------------------------------------------------------------------------------
  $("mic-enable").addEventListener("click", enableMic);
  root.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => {
    if (audioCtx && audioCtx.state === "suspended") audioCtx.resume();
    act(b.dataset.action);
  }));
  root.querySelectorAll("[data-transfer]").forEach((b) => b.addEventListener("click", () =>
    act(b.dataset.transfer, {target: $("transfer-target").value})));

  $("work-order").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target, body = {};
    for (const el of form.elements) if (el.name) body[el.name] = el.value;
    form.querySelectorAll("[data-error-for]").forEach((s) => { s.textContent = ""; });
    const r = await postJSON(url("workOrderUrl"), body);
    if (!r.ok) { $("wo-state").textContent = r.data.error || "保存失败"; $("wo-state").className = "save-state failed"; return; }
    for (const [k, msg] of Object.entries(r.data.errors || {})) {
      const slot = form.querySelector(`[data-error-for="${k}"]`); if (slot) slot.textContent = msg;
    }
    workOrderValid = !!r.data.valid;
    $("wo-state").textContent = r.data.valid ? "工单已保存" : "已暂存，请补全标红的字段";
    $("wo-state").className = "save-state " + (r.data.valid ? "saved" : "failed");
  });

  $("finish").addEventListener("click", async () => {
    $("finish").disabled = true;
    const required = root.dataset.workOrderRequired === "1";
    let skip = false;
    if (required && !workOrderValid) {
      skip = window.confirm("本通话要求填写工单，您还没有保存有效的工单。\n不填写工单提交，工单项将不得分。\n\n确定不填写工单，直接提交吗？");
      if (!skip) { $("finish-error").textContent = "请先填写并保存工单，再提交。"; $("finish").disabled = false; return; }
    }
    $("finish-error").textContent = "正在上传剩余语音并评分…";
    while (outbox.length) await new Promise((r) => setTimeout(r, 200));
    let r = await postJSON(url("finishUrl"), skip ? {skip_work_order: true} : {});
    if (r.status === 409 && r.data.work_order_missing) {
      // The server knows best (e.g. the last save did not pass its checks): ask once more.
      if (window.confirm(r.data.error)) r = await postJSON(url("finishUrl"), {skip_work_order: true});
      else { $("finish-error").textContent = "请先填写并保存工单，再提交。"; $("finish").disabled = false; return; }
    }
    if (r.ok && r.data.result_url) { window.location.href = r.data.result_url; return; }
    $("finish-error").textContent = r.data.error || "提交失败，请重试";
    $("finish").disabled = false;
  });

  const showWords = $("show-words");
  if (showWords) showWords.addEventListener("change", () => $("call-log").classList.toggle("show-words", showWords.checked));

  window.addEventListener("beforeunload", (ev) => {
    if (LIVE_STATES.includes(state)) { ev.preventDefault(); ev.returnValue = ""; }
  });

  if (root.dataset.live === "1") {
    // Back on the page during a call (reload): keep streaming once the microphone is on again.
    setInterval(poll, 400);
    poll().then(() => { if (LIVE_STATES.includes(state)) streaming = true; });
  }
  updateButtons();
})();
