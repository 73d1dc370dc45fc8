// The generate form: POST /api/generate -> a GIF (shown and downloadable) or an MP4 (download).
"use strict";

const $ = (id) => document.getElementById(id);

async function setUp() {
  const model = await (await fetch("/api/model")).json();
  $("start-clip").textContent = model.start_clip;
  $("label-row").hidden = !model.labels;
  $("text-row").hidden = !model.text;
}

async function submit(event) {
  event.preventDefault();
  const form = new FormData($("form"));
  const body = { num_frames: Number(form.get("num_frames")), seed: Number(form.get("seed")), format: form.get("format") };
  for (const name of ["temperature", "top_k"]) { // empty: the model's own default
    if (form.get(name) !== "") body[name] = Number(form.get(name));
  }
  if (!$("label-row").hidden && form.get("label") !== "") body.label = Number(form.get("label"));
  if (!$("text-row").hidden && form.get("text")) body.text = form.get("text");
  $("message").textContent = "generating...";
  const response = await fetch("/api/generate", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) {
    const detail = (await response.json()).detail;
    $("message").textContent = `refused: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = $("download");
  link.href = url;
  link.download = `generated.${body.format}`;
  link.textContent = `download generated.${body.format}`;
  link.hidden = false;
  $("preview").hidden = body.format !== "gif";
  if (body.format === "gif") $("preview").src = url;
  $("message").textContent = "";
}

$("form").addEventListener("submit", submit);
setUp();
