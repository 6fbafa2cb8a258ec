// The sdcpp page: submit a job to /sdcpp/v1/jobs, poll its progress and preview, show results.
"use strict";

const $ = (id) => document.getElementById(id);
let currentJob = null;
let pollTimer = null;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  let body = null;
  if ((response.headers.get("content-type") || "").includes("application/json")) body = await response.json();
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    if (body && body.detail) {
      message = Array.isArray(body.detail)
        ? body.detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ")
        : body.detail;
    }
    throw new Error(message);
  }
  return body;
}

async function authedImage(url) {
  // Images need the API key too: fetch them and show them as object URLs.
  const response = await fetch(url, { headers: headers() });
  if (response.status !== 200) return null;
  return URL.createObjectURL(await response.blob());
}

function fillSelect(select, names) {
  for (const name of names) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.appendChild(option);
  }
}

async function loadInfo() {
  try {
    const info = await api("/sdcpp/v1/info");
    $("model").textContent = info.model + " (sdcpp " + info.version + ")";
    fillSelect($("sampling_method"), info.sampling_methods);
    fillSelect($("scheduler"), info.schedulers);
    const d = info.defaults;
    $("width").value = d.width; $("height").value = d.height; $("steps").value = d.steps;
    $("cfg_scale").value = d.cfg_scale; $("seed").value = d.seed;
  } catch (error) {
    setStatus("cannot read the server's info: " + error.message, true);
  }
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function readFileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",")[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function buildRequest() {
  const number = (id) => Number($(id).value);
  const body = {
    prompt: $("prompt").value, negative_prompt: $("negative_prompt").value,
    width: number("width"), height: number("height"), steps: number("steps"), cfg_scale: number("cfg_scale"),
    seed: number("seed"), batch_count: number("batch_count"),
  };
  if ($("sampling_method").value) body.sampling_method = $("sampling_method").value;
  if ($("scheduler").value) body.scheduler = $("scheduler").value;
  body.deepcache = $("deepcache").checked
    ? { interval: number("deepcache_interval"), depth: number("deepcache_depth") } : false;
  const file = $("init_image").files[0];
  if (file) {
    body.init_image = await readFileBase64(file);
    body.strength = number("strength");
  }
  return body;
}

async function submit(event) {
  event.preventDefault();
  $("generate").disabled = true;
  $("preview").hidden = true;
  $("progress").value = 0;
  try {
    const job = await api("/sdcpp/v1/jobs", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(await buildRequest()),
    });
    currentJob = job.id;
    $("cancel").disabled = false;
    setStatus("queued");
    poll();
  } catch (error) {
    setStatus(error.message, true);
    $("generate").disabled = false;
  }
}

async function poll() {
  if (!currentJob) return;
  let job;
  try {
    job = await api("/sdcpp/v1/jobs/" + currentJob);
  } catch (error) {
    setStatus(error.message, true);
    return finish();
  }
  $("progress").value = job.progress.fraction;
  if (job.state === "queued") setStatus("queued (position " + (job.queue_position + 1) + ")");
  if (job.state === "running") {
    setStatus("step " + job.progress.step + "/" + job.progress.steps +
              (job.progress.images > 1 ? ", image " + (job.progress.image + 1) + "/" + job.progress.images : "") +
              ", eta " + job.eta_seconds.toFixed(1) + " s");
    if (job.progress.step > 0) {
      const src = await authedImage(job.links.preview);
      if (src) { URL.revokeObjectURL($("preview").src); $("preview").src = src; $("preview").hidden = false; }
    }
  }
  if (job.state === "succeeded") { setStatus("done"); await addToGallery(job); return finish(); }
  if (job.state === "cancelled") { setStatus("cancelled"); return finish(); }
  if (job.state === "failed") {
    setStatus("failed: " + (job.error ? job.error.message : "unknown error"), true);
    return finish();
  }
  pollTimer = setTimeout(poll, 300);
}

function finish() {
  currentJob = null;
  clearTimeout(pollTimer);
  $("cancel").disabled = true;
  $("generate").disabled = false;
}

async function cancel() {
  if (!currentJob) return;
  $("cancel").disabled = true;
  try {
    await api("/sdcpp/v1/jobs/" + currentJob + "/cancel", { method: "POST" });
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function addToGallery(job) {
  const gallery = $("gallery");
  for (let index = 0; index < job.result.images.length; index++) {
    const card = document.createElement("figure");
    card.className = "card";
    const src = await authedImage(job.result.images[index]);
    const img = document.createElement("img");
    img.src = src; img.alt = "result " + index;
    const text = document.createElement("pre");
    text.textContent = job.result.parameters[index];
    const link = document.createElement("a");
    link.href = src; link.download = "sdcpp-" + job.id.slice(0, 8) + "-" + index + ".png";
    link.textContent = "download"; link.className = "download";
    card.append(img, text, link);
    gallery.prepend(card);
  }
}

$("api-key").value = localStorage.getItem("sdcpp-api-key") || "";
$("api-key").addEventListener("change", () => { localStorage.setItem("sdcpp-api-key", $("api-key").value); loadInfo(); });
$("form").addEventListener("submit", submit);
$("cancel").addEventListener("click", cancel);
loadInfo();
