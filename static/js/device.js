// The microphone check before a call: permission, a live input level meter (Web Audio AnalyserNode),
// and a short recorded sentence the server recognises with the product ASR. Passing is remembered by
// the server for this login session; the page then leads back to the call.
(function () {
  "use strict";
  const root = document.getElementById("device-check");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const RECORD_MS = (parseFloat(root.dataset.recordS) || 3) * 1000;
  const VOICE_DB = -45;                 // a meter reading above this counts as "level seen"
  let media = null, levelSeen = false, peakDb = -Infinity;

  function say(id, text, ok) {
    const el = $(id);
    el.textContent = text;
    el.className = "device-step" + (ok === true ? " ok" : ok === false ? " bad" : "");
  }

  function refusal(err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError")
      return "麦克风权限被拒绝：请点击浏览器地址栏左侧的图标，允许本网站使用麦克风，然后刷新本页。";
    if (name === "NotFoundError" || name === "OverconstrainedError")
      return "没有检测到麦克风：请连接耳麦（或在系统设置中启用麦克风），然后刷新本页。";
    if (name === "NotReadableError")
      return "麦克风被其他程序占用或无法打开：请关闭正在使用麦克风的程序后刷新本页。";
    return "无法打开麦克风：" + (err && err.message ? err.message : err);
  }

  async function allow() {
    $("device-error").textContent = "";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("device-permission", "当前浏览器不支持麦克风录音，请使用最新版 Chrome、Edge 或 Firefox，并通过 https 或本机地址访问。", false);
      return;
    }
    try {
      media = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation: true,
        noiseSuppression: true, autoGainControl: true}});
    } catch (err) {
      say("device-permission", refusal(err), false);
      return;
    }
    say("device-permission", "已允许使用麦克风。", true);
    $("device-allow").disabled = true;
    $("device-record").disabled = false;
    meter();
  }

  function meter() {
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(media).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    say("device-level-state", "请对着麦克风说话……");
    setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      const db = 20 * Math.log10(Math.sqrt(sum / buf.length) || 1e-9);
      peakDb = Math.max(peakDb, db);
      $("device-level").style.width = Math.max(0, Math.min(100, (db + 60) / 60 * 100)) + "%";
      if (db > VOICE_DB && !levelSeen) {
        levelSeen = true;
        root.dataset.levelSeen = "1";
        say("device-level-state", "已检测到声音，麦克风输入正常。", true);
      }
    }, 100);
  }

  function record() {
    $("device-error").textContent = "";
    $("device-text").textContent = "";
    $("device-record").disabled = true;
    let recorder;
    try { recorder = new MediaRecorder(media); } catch (err) {
      $("device-error").textContent = "当前浏览器无法录音：" + (err && err.message ? err.message : err);
      $("device-record").disabled = false;
      return;
    }
    const chunks = [];
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = () => upload(new Blob(chunks, {type: recorder.mimeType || "audio/webm"}));
    recorder.start();
    say("device-record-state", "正在录音，请说一句话……");
    setTimeout(() => recorder.state === "recording" && recorder.stop(), RECORD_MS);
  }

  async function upload(blob) {
    say("device-record-state", "正在识别……");
    const form = new FormData();
    form.append("audio", blob, "device-test.webm");
    form.append("level_seen", levelSeen ? "1" : "0");
    let data = {}, ok = false;
    try {
      const r = await fetch(root.dataset.testUrl, {method: "POST", credentials: "same-origin",
        headers: {"X-CSRFToken": csrf, "Accept": "application/json"}, body: form});
      ok = r.ok;
      try { data = await r.json(); } catch (e) { data = {error: "服务器返回了无法识别的内容，请重试。"}; }
    } catch (err) {
      data = {error: "网络中断，请检查网络后重新测试。"};
    }
    $("device-record").disabled = false;
    if (ok && data.passed) {
      $("device-text").textContent = data.text;
      say("device-record-state", "识别成功，麦克风检测通过。", true);
      $("device-continue").hidden = false;
      root.dataset.passed = "1";
    } else {
      say("device-record-state", "检测未通过。", false);
      $("device-error").textContent = data.error || "检测未通过，请重试。";
    }
  }

  $("device-allow").addEventListener("click", allow);
  $("device-record").addEventListener("click", record);
})();
