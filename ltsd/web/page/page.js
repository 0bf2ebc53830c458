// The page is an OSCQuery client: it reads the namespace, builds a control for every parameter
// in it, LISTENs to their values over the WebSocket and sends OSC over it when one is moved.
// So a knob turned on a MIDI controller moves the slider here, and the other way round.
"use strict";

const $ = (id) => document.getElementById(id);
const GROUP_TITLES = { "": "Output", pre: "What the model sees" };
const controls = new Map(); // address → {set(value)}: shows a value heard from ltsd
let socket = null;
let prefix = "/ltsd";
let worldsList = [];

function send(address, values = [], types = "") {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(OSC.encode(address, values, types));
}

function listen(address) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ COMMAND: "LISTEN", DATA: address }));
  }
}

function label(name) {
  return name.replace(/_/g, " ");
}

function formatted(value, node) {
  const unit = node.UNIT ? " " + node.UNIT[0] : "";
  if (node.TYPE === "i") return String(value) + unit;
  const span = node.RANGE[0].MAX - node.RANGE[0].MIN;
  return Number(value).toFixed(span > 10 ? 1 : 2) + unit;
}

function sliderControl(node, name) {
  const range = node.RANGE[0];
  const box = document.createElement("div");
  box.className = "control";
  const id = "p-" + node.FULL_PATH.replace(/\W/g, "-");
  box.innerHTML = `<label for="${id}"></label><output for="${id}"></output>
    <input type="range" id="${id}" min="${range.MIN}" max="${range.MAX}"
      step="${node.TYPE === "i" ? 1 : (range.MAX - range.MIN) / 1000}">`;
  const [labelEl, out, input] = [box.querySelector("label"), box.querySelector("output"), box.querySelector("input")];
  labelEl.textContent = label(name);
  box.title = node.DESCRIPTION || "";
  let held = false; // while a finger or mouse holds the slider, echoes must not move it
  input.addEventListener("pointerdown", () => { held = true; });
  input.addEventListener("pointerup", () => { held = false; });
  input.addEventListener("blur", () => { held = false; });
  input.addEventListener("input", () => {
    out.textContent = formatted(input.value, node);
    send(node.FULL_PATH, [Number(input.value)], node.TYPE);
  });
  const show = (value) => {
    out.textContent = formatted(value, node);
    if (!held) input.value = value;
  };
  show(node.VALUE[0]);
  return [box, show];
}

function toggleControl(node, name) {
  const box = document.createElement("div");
  box.className = "control toggle";
  const id = "p-" + node.FULL_PATH.replace(/\W/g, "-");
  box.innerHTML = `<label for="${id}"></label><input type="checkbox" role="switch" id="${id}">`;
  box.querySelector("label").textContent = label(name);
  box.title = node.DESCRIPTION || "";
  const input = box.querySelector("input");
  input.addEventListener("change", () => send(node.FULL_PATH, [input.checked]));
  const show = (value) => { input.checked = Boolean(value); };
  show(node.VALUE[0]);
  return [box, show];
}

function choiceControl(node, name) {
  const box = document.createElement("div");
  box.className = "control";
  box.title = node.DESCRIPTION || "";
  const title = document.createElement("label");
  title.textContent = label(name);
  const group = document.createElement("div");
  group.className = "choices";
  group.setAttribute("role", "radiogroup");
  group.setAttribute("aria-label", label(name));
  for (const choice of node.RANGE[0].VALS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.setAttribute("role", "radio");
    button.textContent = choice;
    button.addEventListener("click", () => send(node.FULL_PATH, [choice]));
    group.append(button);
  }
  box.append(title, document.createElement("span"), group);
  const show = (value) => {
    for (const button of group.children) button.setAttribute("aria-checked", String(button.textContent === value));
  };
  show(node.VALUE[0]);
  return [box, show];
}

function controlFor(node, name) {
  if (node.TYPE === "T" || node.TYPE === "F") return toggleControl(node, name);
  if (node.TYPE === "s" && node.RANGE && node.RANGE[0].VALS) return choiceControl(node, name);
  if ((node.TYPE === "f" || node.TYPE === "i") && node.RANGE && "MIN" in node.RANGE[0]) return sliderControl(node, name);
  return null;
}

// Every writable parameter of the tree, grouped by its folder (pre, or the top level);
// the model menu, the source, the 0..1 knob tree and the status values have their own places.
function buildControls(root) {
  const top = Object.values(root.CONTENTS)[0];
  prefix = top.FULL_PATH;
  const skip = new Set(["model", "models", "source", "norm", "status"]);
  const groups = new Map();
  const visit = (node, group) => {
    for (const [name, child] of Object.entries(node.CONTENTS || {})) {
      if (node === top && skip.has(name)) continue;
      if (child.CONTENTS) { visit(child, name); continue; }
      if (child.ACCESS !== 3) continue;
      const made = controlFor(child, name);
      if (!made) continue;
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(made[0]);
      controls.set(child.FULL_PATH, { show: made[1] });
    }
  };
  visit(top, "");
  const container = $("controls");
  container.replaceChildren();
  for (const group of [...groups.keys()].sort((a, b) => (a === "pre" ? -1 : b === "pre" ? 1 : 0))) {
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = GROUP_TITLES[group] ?? group;
    fieldset.append(legend, ...groups.get(group));
    container.append(fieldset);
  }
  const model = top.CONTENTS.model;
  worldsList = model.RANGE[0].VALS;
  buildWorlds(worldsList, model.VALUE[0]);
  controls.set(`${prefix}/model`, { show: showWorld });
  controls.set(`${prefix}/source`, { show: (v) => { $("source").textContent = v; } });
  $("source").textContent = top.CONTENTS.source.VALUE[0];
  const scenes = top.CONTENTS.scenes;
  buildScenes(scenes && scenes.CONTENTS.recall ? scenes.CONTENTS.recall.RANGE[0].VALS : []);
}

// Scenes: a button each recalls it, morphing over the slider's time; "Save scene" stores what
// plays now under the name typed (a new name takes the first free slot).
function buildScenes(names) {
  const box = $("scenes");
  box.replaceChildren();
  for (const name of names) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = name;
    button.addEventListener("click", () => send(`${prefix}/scenes/recall`, [name, morphSeconds()], "sf"));
    box.append(button);
  }
}

function morphSeconds() {
  return Number($("morph").value);
}

$("morph").addEventListener("input", () => { $("morph-value").textContent = `${morphSeconds()} s`; });
$("save-scene").addEventListener("click", () => {
  const name = $("scene-name").value.trim();
  if (!name) { $("scene-name").focus(); return; }
  send(`${prefix}/scenes/save`, [name], "s");
  setTimeout(refreshTree, 300);
});

function buildWorlds(names, current) {
  const box = $("worlds");
  box.replaceChildren();
  for (const name of names) {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "radio");
    button.textContent = name;
    button.addEventListener("click", () => send(`${prefix}/model`, [name]));
    box.append(button);
  }
  showWorld(current);
}

function showWorld(name) {
  $("model").textContent = name;
  for (const button of $("worlds").children) button.setAttribute("aria-checked", String(button.textContent === name));
  if (name && !worldsList.includes(name)) refreshTree(); // a world added since the page loaded
}

const STATUS = {
  fps: (v) => { $("fps").textContent = v.toFixed(1); },
  latency: (v) => { $("latency").textContent = v.toFixed(0) + " ms"; },
  model: (v) => { $("model").textContent = v; },
  source: (v) => { $("source").textContent = v; },
};

function heard(address, values) {
  if (address === `${prefix}/error`) {
    const box = $("error");
    box.textContent = `${values[0]}: ${values[1]}`;
    box.hidden = false;
    clearTimeout(heard.errorTimer);
    heard.errorTimer = setTimeout(() => { box.hidden = true; }, 6000);
    return;
  }
  const status = address.startsWith(`${prefix}/status/`) && STATUS[address.slice(prefix.length + 8)];
  if (status) { status(values[0]); return; }
  const control = controls.get(address);
  if (control) control.show(values[0]);
}

async function refreshTree() {
  const reply = await fetch("/", { headers: { Accept: "application/json" } });
  buildControls(await reply.json());
  for (const address of controls.keys()) listen(address);
}

function connect() {
  socket = new WebSocket(wsUrl("/"));
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", async () => {
    $("link").textContent = "live";
    $("link").className = "up";
    await refreshTree();
    for (const name of Object.keys(STATUS)) listen(`${prefix}/status/${name}`);
  });
  socket.addEventListener("message", (event) => {
    if (event.data instanceof ArrayBuffer) heard(...OSC.decode(event.data));
  });
  socket.addEventListener("close", () => {
    $("link").textContent = "reconnecting";
    $("link").className = "down";
    setTimeout(connect, 1000);
  });
}

// "Use this camera": the device's camera, shrunk to at most 640 px wide, as JPEGs over its own
// WebSocket, about 20 a second, skipping frames while the network is behind (newest wins).
const CAMERA_WIDTH = 640;
const CAMERA_FPS = 20;
let camera = null;

function wsUrl(path) {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
}

async function startCamera() {
  const note = $("camera-note");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    note.textContent = "Browsers lend their camera only to localhost or HTTPS pages: start ltsd with --tls and open its https:// address.";
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "environment" }, audio: false,
    });
  } catch (error) {
    note.textContent = `No camera: ${error.message || error.name}`;
    return;
  }
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  const canvas = document.createElement("canvas");
  const link = new WebSocket(wsUrl("/camera"));
  const timer = setInterval(() => {
    if (link.readyState !== WebSocket.OPEN || link.bufferedAmount > 256 * 1024 || !video.videoWidth) return;
    const scale = Math.min(1, CAMERA_WIDTH / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => {
      if (blob && link.readyState === WebSocket.OPEN) blob.arrayBuffer().then((bytes) => link.send(bytes));
    }, "image/jpeg", 0.8);
  }, 1000 / CAMERA_FPS);
  camera = {
    stop() {
      clearInterval(timer);
      link.close();
      for (const track of stream.getTracks()) track.stop();
    },
  };
  link.addEventListener("close", () => { if (camera) stopCamera(); });
  $("camera").textContent = "Stop camera";
  $("camera").setAttribute("aria-pressed", "true");
  note.textContent = "ltsd sees this camera; the source goes back when you stop or leave";
}

function stopCamera() {
  if (camera) camera.stop();
  camera = null;
  $("camera").textContent = "Use this camera";
  $("camera").setAttribute("aria-pressed", "false");
  $("camera-note").textContent = "send this device's camera to ltsd as its source";
}

$("camera").addEventListener("click", () => (camera ? stopCamera() : startCamera()));

for (const button of document.querySelectorAll("[data-command]")) {
  button.addEventListener("click", () => send(`${prefix}/${button.dataset.command}`, [null]));
}
// A stream that dropped (ltsd restarted) is asked for again.
for (const image of [$("output"), $("seen")]) {
  image.addEventListener("error", () => setTimeout(() => { image.src = image.src.split("?")[0] + "?" + Date.now(); }, 1000));
}
connect();
