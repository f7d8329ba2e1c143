// Live proctor view: every candidate's state, refreshed every 5 seconds.
(function () {
  "use strict";
  const table = document.getElementById("proctor");
  if (!table) return;
  const body = table.querySelector("tbody");
  const TASKS = JSON.parse(document.getElementById("labels").textContent).tasks;   // simulator/labels.py
  const mmss = (s) => String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
  async function refresh() {
    try {
      const r = await fetch(table.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (!r.ok) return;
      const data = await r.json();
      body.textContent = "";
      for (const c of data.candidates) {
        const tr = document.createElement("tr");
        const name = document.createElement("td"), a = document.createElement("a");
        a.href = table.dataset.review.replace(/\/0$/, "/" + c.id); a.textContent = `${c.name}（${c.username}）`;
        name.appendChild(a); tr.appendChild(name);
        const t = c.theory;
        tr.appendChild(cell(t.status === "not_started" ? "未开始" : t.status === "in_progress"
          ? `作答中：已答 ${t.answered}/${t.total}，剩余 ${mmss(Math.max(0, t.seconds_left || 0))}` : `已交卷 ${t.score == null ? "" : t.score.toFixed(1)}`));
        const p = c.practical;
        const alerts = (p.attention || []).map((x) => `；第 ${x.index + 1} 题${TASKS[x.type] || ""}：${x.label}`).join("");
        tr.appendChild(cell(`${p.done}/${p.total} 题已完成` + (p.live ? `；第 ${p.live.index + 1} 题${TASKS[p.live.type] || ""}进行中（${p.live.state}）` : "") + alerts));
        tr.appendChild(cell(c.complete ? "已全部提交" : "进行中/未开始"));
        body.appendChild(tr);
      }
      document.getElementById("updated").textContent = "更新于 " + data.updated;
    } catch (e) { document.getElementById("updated").textContent = "刷新失败，正在重试…"; }
  }
  refresh(); setInterval(refresh, 5000);
})();
