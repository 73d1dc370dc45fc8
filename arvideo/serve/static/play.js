// The play page: keys -> actions on the WebSocket, frames -> the canvas.
// Protocol in arvideo/serve/protocol.py; frame header in arvideo/serve/frames.py.
"use strict";

const HEADER_BYTES = 16;
const FORMATS = { 1: "raw", 2: "png" };
const NO_ACTION = 255;
const IN_FLIGHT = 2; // steps asked ahead: the server samples while the page draws
const RATE_WINDOW = 30; // frames the steps/s readout averages over

const $ = (id) => document.getElementById(id);
const canvas = $("screen");
const context2d = canvas.getContext("2d");

// window.arvideo: state the browser test reads (frames seen, their digests, the rate)
const state = (window.arvideo = {
  hello: null, socket: null, paused: false, held: [], arrivals: [], frames: 0,
  rate: 0, log: [], errors: [], nextAllowed: 0,
  inFlight: 1, // the start frame is owed
});

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/play`);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) =>
    typeof event.data === "string" ? onJson(JSON.parse(event.data)) : onFrame(event.data);
  socket.onclose = (event) => {
    if (event.code !== 1013) showMessage(`connection closed (${event.code} ${event.reason})`);
  };
  state.socket = socket;
}

function onJson(message) {
  if (message.type === "hello") return setUp(message);
  if (message.type === "settings") return showSettings(message);
  if (message.type === "busy") return showMessage(message.message);
  if (message.type === "error") {
    state.errors.push(message.message);
    state.inFlight = Math.max(0, state.inFlight - 1); // the refused message gets no frame
    showMessage(`refused: ${message.message}`);
    pump();
  }
}

function setUp(hello) {
  state.hello = hello;
  const [height, width] = hello.frame_size;
  canvas.width = width;
  canvas.height = height;
  $("title").textContent = `Play ${hello.game || hello.model} inside ${hello.model} (${hello.order}, ${hello.head})`;
  $("actions").textContent = hello.actions.map((name, id) => `${id} ${name}`).join(", ") || "none";
  $("start-clip").textContent = hello.start_clip;
  $("fps").textContent = hello.fps;
  $("steps-label").hidden = !hello.diffusion;
  $("top-k-label").hidden = hello.diffusion; // codes are drawn by categorical heads only
  showSettings(hello);
  const table = $("keys");
  for (const binding of hello.keys) {
    const row = table.insertRow();
    row.insertCell().textContent = binding.label;
    row.insertCell().textContent = `${binding.meaning} (${binding.action})`;
  }
}

function showSettings(settings) {
  $("temperature").value = settings.temperature;
  $("top_k").value = settings.top_k;
  $("steps").value = settings.steps;
}

function onFrame(buffer) {
  const view = new DataView(buffer);
  const format = FORMATS[view.getUint8(0)];
  const action = view.getUint8(1);
  const height = view.getUint16(2, true);
  const width = view.getUint16(4, true);
  const step = view.getUint32(8, true);
  const stepMs = view.getFloat32(12, true);
  const pixels = new Uint8Array(buffer, HEADER_BYTES);
  state.inFlight = Math.max(0, state.inFlight - 1); // every message gets one frame or error
  if (step === 0) state.log = []; // a (re)start: a new game
  state.log.push({ step, action: action === NO_ACTION ? null : action, digest: digest(pixels) });
  state.frames += 1;
  measure(step);
  $("step").textContent = step;
  $("step-ms").textContent = stepMs.toFixed(1);
  if (format === "raw") drawRaw(pixels, width, height);
  else createImageBitmap(new Blob([pixels], { type: "image/png" })).then((bitmap) => context2d.drawImage(bitmap, 0, 0));
  pump();
}

function drawRaw(rgb, width, height) {
  const image = context2d.createImageData(width, height);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    image.data[j] = rgb[i];
    image.data[j + 1] = rgb[i + 1];
    image.data[j + 2] = rgb[i + 2];
    image.data[j + 3] = 255;
  }
  context2d.putImageData(image, 0, 0);
}

function digest(bytes) { // FNV-1a: tells frames apart in the test, cheaply
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193) >>> 0;
  return hash;
}

function measure(step) {
  if (step === 0) return; // start frames are not steps
  state.arrivals.push(performance.now());
  if (state.arrivals.length > RATE_WINDOW) state.arrivals.shift();
  const n = state.arrivals.length;
  if (n > 1) state.rate = ((n - 1) * 1000) / (state.arrivals[n - 1] - state.arrivals[0]);
  $("rate").textContent = state.rate.toFixed(1);
}

function currentBinding() {
  const keys = state.hello ? state.hello.keys : [];
  for (let i = state.held.length - 1; i >= 0; i--) {
    const binding = keys.find((b) => b.key === state.held[i]);
    if (binding) return binding;
  }
  return keys.find((b) => b.key === "") || null; // no key: NOOP (null without actions)
}

function pump() {
  const socket = state.socket;
  if (!state.hello || state.paused || !socket || socket.readyState !== WebSocket.OPEN) return;
  const realtime = $("realtime").checked;
  while (state.inFlight < IN_FLIGHT) {
    const now = performance.now();
    if (realtime && now < state.nextAllowed) {
      setTimeout(pump, state.nextAllowed - now);
      return;
    }
    state.nextAllowed = now + 1000 / state.hello.fps;
    const binding = currentBinding();
    $("action").textContent = binding ? binding.meaning : "none";
    send({ type: "step", action: binding ? binding.action : null });
  }
}

function send(message) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  state.socket.send(JSON.stringify(message));
  state.inFlight += 1;
}

function setPaused(paused) {
  state.paused = paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
  if (paused) {
    state.arrivals = [];
    state.rate = 0;
    $("rate").textContent = "0.0";
  }
  pump();
}

function reset() {
  state.arrivals = [];
  send({ type: "reset" });
}

function showMessage(text) { $("message").textContent = text; }

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT") return;
  if (event.key === "p" || event.key === "P") return setPaused(!state.paused);
  if (event.key === "r" || event.key === "R") return reset();
  const known = state.hello && state.hello.keys.some((b) => b.key === event.key && b.key !== "");
  if (!known) return;
  event.preventDefault(); // arrows and space must not scroll the page
  state.held = state.held.filter((key) => key !== event.key).concat([event.key]);
});
document.addEventListener("keyup", (event) => {
  state.held = state.held.filter((key) => key !== event.key);
});
window.addEventListener("blur", () => { state.held = []; }); // keys let go elsewhere
$("pause").addEventListener("click", () => setPaused(!state.paused));
$("reset").addEventListener("click", reset);
$("temperature").addEventListener("change", () => send({ type: "settings", temperature: Number($("temperature").value) }));
$("top_k").addEventListener("change", () => send({ type: "settings", top_k: Number($("top_k").value) }));
$("steps").addEventListener("change", () => send({ type: "settings", steps: Number($("steps").value) }));
connect();
