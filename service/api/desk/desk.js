// The desk page: paste an article, extract its claims through the public API, see them in the text.
// Only the public API is used (the same calls a client makes), with the API key typed in when there is one.
"use strict";
import { claimMarks, renderClaimList, selectInList } from "./claim-list.js";
import { chosenLanguage, describeLanguage, fillLanguages } from "./language.js";
import { DEFAULT_THRESHOLD } from "./ranking.js";

const JOB_ABOVE_CHARS = 100000; // longer articles go through /v1/jobs, with a progress bar
const POLL_LIMIT_MS = 30 * 60 * 1000; // a job followed this long without an end is left to run, and said so
const TYPES = ["quantity", "causal", "rule", "prediction", "personal_experience", "other"];
const $ = (id) => document.getElementById(id);
const NARROW = window.matchMedia("(max-width: 760px)"); // the layout's one column: a phone
const state = { request: null, result: null, jobId: null, shownText: "", selected: null, expanded: false };

function headers(extra = {}) {
  const key = $("key").value.trim();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

class ApiError extends Error {
  constructor(message, status, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      detail = `${problem.title || detail}: ${problem.detail || ""}`;
    } catch (ignored) { /* not a problem document */ }
    throw new ApiError(detail, response.status, Number(response.headers.get("Retry-After")) || 0);
  }
  return response;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function say(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

async function loadChoices() {
  try {
    const [models, prompts] = await Promise.all([
      api("/v1/models").then((r) => r.json()),
      api("/v1/prompts").then((r) => r.json()),
    ]);
    fill($("model"), models.map((m) => [m.name, `${m.name} (${m.model})${m.default ? ", the default" : ""}`]));
    fill($("prompt"), prompts.map((p) => [`${p.name}@${p.version}`, `${p.name}@${p.version} (${p.status})`]));
    say("");
  } catch (error) {
    say(`Models and prompts could not be listed (${error.message}). Enter the API key, if the service needs one.`);
  }
}

function fill(select, pairs) {
  const first = select.options[0];
  select.replaceChildren(first, ...pairs.map(([value, label]) => new Option(label, value)));
}

function buildRequest() {
  const options = {};
  if ($("model").value) options.model = $("model").value;
  if ($("prompt").value) options.prompt = $("prompt").value;
  const article = { text: $("text").value, format: $("format").value };
  const language = chosenLanguage($("language"));
  if (language) article.language = language; // "auto" sends none: the service decides
  return { article, options };
}

async function extract() {
  const request = buildRequest();
  if (!request.article.text.trim()) {
    say("Paste an article first.");
    return;
  }
  say("");
  $("extract").disabled = true;
  showProgress(true, "Extracting…", null);
  try {
    state.request = request;
    state.jobId = null;
    state.expanded = false;
    state.result = request.article.text.length > JOB_ABOVE_CHARS ? await viaJobOrDirect(request) : await direct(request);
    render();
  } catch (error) {
    say(error.message);
  } finally {
    $("extract").disabled = false;
    showProgress(false);
  }
}

async function direct(request) {
  const response = await api("/v1/extractions", {
    method: "POST", headers: { "Content-Type": "application/json", Accept: "text/event-stream" }, body: JSON.stringify(request),
  });
  if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) return response.json(); // an older service
  return streamed(response, request);
}

// Reads an extraction's server-sent events: each chunk's claims are shown as they come (provisional: not yet
// de-duplicated across chunks), through the same render() as the final result, which the done event carries.
// An HTML page's claims point into the text read from it, which only the final result holds: shown at the end.
async function streamed(response, request) {
  const chunks = [];
  const inText = request.article.format !== "html" && !/^\s*</.test(request.article.text);
  for await (const { event, data } of serverSentEvents(response.body)) {
    if (event === "done") return JSON.parse(data);
    if (event === "error") {
      const problem = JSON.parse(data);
      throw new ApiError(`${problem.title}: ${problem.detail || ""}`, problem.status, 0);
    }
    if (event !== "chunk") continue;
    const chunk = JSON.parse(data);
    chunks.push(chunk);
    const answered = `${chunks.length} of ${chunk.chunks} chunks answered`;
    showProgress(true, `Extracting… ${answered}`, chunks.length / chunk.chunks);
    if (inText) showProvisional(chunks, answered);
  }
  throw new Error("the extraction's stream ended before its result");
}

function showProvisional(chunks, answered) {
  const claims = chunks.flatMap((chunk) => chunk.claims);
  state.result = {
    claims, status: "provisional", article: null, provenance: { models: [], requested_model: "" },
    usage: { chunks: chunks[0].chunks, model_calls: 0, cache_hits: 0 },
    warnings: chunks.flatMap((chunk) => chunk.warnings), errors: chunks.flatMap((chunk) => chunk.errors),
  };
  render();
  $("summary").textContent = `${claims.length} claims so far · ${answered} (provisional: not yet de-duplicated)`;
}

// The event stream's events ({event, data}), read as the text/event-stream format says (POST has no EventSource).
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

async function viaJobOrDirect(request) {
  try {
    return await viaJob(request);
  } catch (error) {
    if (error.status === 403 && !state.jobId) return direct(request); // a key without the jobs scope
    throw error;
  }
}

async function viaJob(request) {
  const job = await (await api("/v1/jobs", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
  })).json();
  state.jobId = job.id;
  const started = Date.now();
  let wait = 1000;
  for (;;) {
    const current = await patiently(() => api(`/v1/jobs/${job.id}`), started, job.id);
    const done = current.counts.total - current.counts.queued - current.counts.running;
    showProgress(true, `Job ${current.state}: ${done} of ${current.counts.total} article(s)`, done / current.counts.total);
    if (!["queued", "running"].includes(current.state)) break;
    if (Date.now() - started > POLL_LIMIT_MS) throw new Error(`job ${job.id} is still ${current.state}; follow it at /v1/jobs/${job.id}`);
    await sleep(wait);
    wait = Math.min(wait * 1.5, 5000); // polls every 1 s at first, every 5 s at most
  }
  const [first] = await patiently(() => api(`/v1/jobs/${job.id}/results`), started, job.id);
  if (!first || !first.result) throw new Error(first && first.error ? `${first.error.title}: ${first.error.detail}` : "the job gave no result");
  return first.result;
}

// One call's JSON, waiting out the key's requests a minute (429 with Retry-After) within the job's time limit.
async function patiently(call, started, jobId) {
  for (;;) {
    try {
      return await (await call()).json();
    } catch (error) {
      if (error.status !== 429) throw error;
      const retryMs = Math.max((error.retryAfter || 1) * 1000, 1000);
      if (Date.now() + retryMs - started > POLL_LIMIT_MS) throw new Error(`the key's quota is spent; follow the job at /v1/jobs/${jobId}`);
      await sleep(retryMs);
    }
  }
}

function showProgress(visible, text = "", fraction = null) {
  $("progress").hidden = !visible;
  $("progress-text").textContent = text;
  const bar = $("progress-bar");
  if (fraction === null) bar.removeAttribute("value"); else bar.value = fraction;
}

function colour(type) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${type}`).trim() || "100, 110, 120";
}

// WCAG's relative luminance of an sRGB colour.
function luminance(rgb) {
  const linear = (value) => (value / 255 <= 0.03928 ? value / 255 / 12.92 : ((value / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
}

// Check-worthiness is the highlight's shade: its contrast with the white page grows from 1.2:1 (0) to 3.4:1 (1)
// whatever the type's hue, so a check-worthy claim stands out (WCAG asks 3:1 of a graphic that carries meaning)
// and the text on it keeps 4.5:1. Returns the opacity of the type's colour over white that gives that contrast.
function shade(type, checkworthiness) {
  const rgb = colour(type).split(",").map(Number);
  const wanted = 1.05 / (1.2 + 2.2 * checkworthiness) - 0.05;
  let [light, dark] = [0, 1];
  for (let step = 0; step < 16; step += 1) {
    const alpha = (light + dark) / 2;
    if (luminance(rgb.map((value) => 255 - alpha * (255 - value))) > wanted) light = alpha; else dark = alpha;
  }
  return dark.toFixed(3);
}

// The claims of the types ticked; in the article, those the list shows (the threshold's, or all when expanded).
function typedClaims() {
  const types = new Set([...document.querySelectorAll("#types input:checked")].map((box) => box.value));
  return state.result.claims.filter((claim) => types.has(claim.type));
}

function visibleClaims() {
  const minimum = state.expanded ? 0 : Number($("score").value);
  return typedClaims().filter((claim) => claim.checkworthiness >= minimum);
}

function render() {
  const result = state.result;
  $("result").hidden = false;
  state.shownText = (result.article && result.article.text) || state.request.article.text;
  const read = result.article && result.article.text ? " (the text read from the HTML page)" : "";
  $("summary").textContent = `${result.claims.length} claims · ${result.status} · ${result.usage.chunks} chunk(s), ` +
    `${result.usage.model_calls} model call(s), ${result.usage.cache_hits} from the cache · ` +
    `${result.provenance.models.map((m) => m.model).join(", ") || result.provenance.requested_model}${read}`;
  $("language-read").textContent = describeLanguage(result.article && result.article.language, state.request.article.language);
  document.querySelector(".layout").classList.add("has-result");
  const present = TYPES.filter((type) => result.claims.some((claim) => claim.type === type));
  $("types").replaceChildren(...present.map((type) => {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${type}" checked> <span class="type-swatch" style="background: rgb(${colour(type)})"></span>${type.replace("_", " ")}`;
    label.querySelector("input").addEventListener("change", draw);
    return label;
  }));
  $("notices").replaceChildren(
    ...result.warnings.map((notice) => item(`${notice.code}: ${notice.detail}`, "warning")),
    ...result.errors.map((notice) => item(`error in chunk ${notice.chunk}: ${notice.detail}`, "error")),
  );
  draw();
}

function item(text, kind) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = text;
  return li;
}

function draw() {
  $("score-value").textContent = Number($("score").value).toFixed(2);
  const claims = visibleClaims();
  drawArticle(claims);
  renderClaimList({
    claims: typedClaims(), threshold: Number($("score").value), expanded: state.expanded, selected: state.selected,
    onSelect: (id) => select(id, true),
    onToggle: () => { state.expanded = !state.expanded; draw(); },
  });
  if (state.selected && !claims.some((claim) => claim.id === state.selected)) select(null);
}

// The API's offsets count code points (Python's str); JavaScript strings count UTF-16 units, in which an
// emoji or "𝕏" is two. Map one to the other once per text.
function unitsOf(text) {
  const units = [];
  let unit = 0;
  for (const character of text) {
    units.push(unit);
    unit += character.length;
  }
  units.push(unit);
  return units;
}

function drawArticle(claims) {
  const text = state.shownText;
  const units = unitsOf(text);
  const cuts = new Set([0, units.length - 1]);
  claims.forEach((claim) => { cuts.add(claim.source.start); cuts.add(claim.source.end); });
  const points = [...cuts].sort((a, b) => a - b);
  const nodes = [];
  for (let i = 0; i < points.length - 1; i += 1) {
    const [start, end] = [points[i], points[i + 1]];
    const covering = claims.filter((claim) => claim.source.start <= start && claim.source.end >= end);
    const piece = text.slice(units[start], units[end]);
    if (!covering.length) { nodes.push(document.createTextNode(piece)); continue; }
    const top = covering.reduce((best, claim) => (claim.checkworthiness > best.checkworthiness ? claim : best));
    const mark = document.createElement("mark");
    mark.textContent = piece;
    mark.tabIndex = 0;
    mark.setAttribute("role", "button");
    mark.dataset.claim = top.id;
    mark.dataset.claims = covering.map((claim) => claim.id).join(" "); // every claim quoting this piece
    mark.dataset.type = top.type;
    mark.setAttribute("aria-label", `${top.type.replace("_", " ")} claim, check-worthiness ${top.checkworthiness.toFixed(2)}: ${top.text}`);
    mark.style.setProperty("--c", colour(top.type));
    mark.style.setProperty("--a", shade(top.type, top.checkworthiness));
    mark.addEventListener("click", () => select(top.id, false, mark));
    mark.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(top.id, false, mark); }
    });
    nodes.push(mark);
  }
  $("article").after($("detail")); // out of the text before it is redrawn
  $("article").replaceChildren(...nodes);
  if (state.selected) {
    highlight(state.selected);
    place(null);
  }
}

// On a phone the detail opens in the text, right under the highlight tapped (or the claim's last one); on a wide
// screen it stays under the article, pinned to the bottom of the window.
function place(anchor) {
  const detail = $("detail");
  const marks = document.querySelectorAll(`mark[data-claims~="${state.selected}"]`);
  const under = anchor || marks[marks.length - 1];
  if (NARROW.matches && under) under.after(detail); else $("article").after(detail);
}

function select(id, scroll = false, anchor = null) {
  state.selected = id;
  const detail = $("detail");
  const claim = id && state.result.claims.find((candidate) => candidate.id === id);
  if (!claim) { detail.hidden = true; highlight(null); selectInList(null); return; }
  detail.style.setProperty("--c", colour(claim.type));
  detail.replaceChildren();
  const title = document.createElement("strong");
  title.textContent = claim.text;
  const list = document.createElement("dl");
  for (const [name, value] of [
    ["type", claim.type.replace("_", " ")], ["claimant", claim.claimant || "—"], ["attribution", claim.attribution],
    ["check-worthiness", claim.checkworthiness.toFixed(2)], ["quote", `“${claim.source.quote}”`],
    ["where", `characters ${claim.source.start}–${claim.source.end}`], ["model", `${claim.model_alias} (${claim.model})`],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.setAttribute("aria-label", "Close the claim's details");
  close.textContent = "×";
  close.addEventListener("click", () => select(null));
  detail.append(close, title, list);
  const marks = claimMarks(claim);
  if (marks.length) {
    const line = document.createElement("p");
    line.className = "marks";
    line.append(...marks);
    detail.append(line);
  }
  detail.hidden = false;
  highlight(id, scroll);
  selectInList(id, !scroll);
  place(anchor);
  if (NARROW.matches && !scroll) keepInView(anchor, detail);
}

// After a tap on a phone: the claim tapped stays on the screen (a detail closed above it moved it up) and as much
// of its detail below it as fits is shown.
function keepInView(anchor, detail) {
  const top = (anchor || detail).getBoundingClientRect().top - 8;
  const below = detail.getBoundingClientRect().bottom + 8 - window.innerHeight;
  if (top < 0) window.scrollBy(0, top);
  else if (below > 0) window.scrollBy(0, Math.min(below, top));
}

function highlight(id, scroll = false) {
  document.querySelectorAll("mark.selected").forEach((mark) => mark.classList.remove("selected"));
  if (!id) return;
  const marks = document.querySelectorAll(`mark[data-claims~="${id}"]`);
  marks.forEach((mark) => mark.classList.add("selected"));
  if (scroll && marks[0]) marks[0].scrollIntoView({ block: "center", behavior: "smooth" });
}

async function exportAs(kind) {
  try {
    let blob;
    let name;
    if (kind === "json") {
      blob = new Blob([JSON.stringify(state.result, null, 2)], { type: "application/json" });
      name = "claims.json";
    } else {
      const accept = kind === "csv" ? "text/csv" : "application/ld+json";
      const response = state.jobId
        ? await api(`/v1/jobs/${state.jobId}/results`, { headers: { Accept: accept } })
        : await api("/v1/extractions", {
          method: "POST", headers: { "Content-Type": "application/json", Accept: accept }, body: JSON.stringify(state.request),
        }); // the same request again: the reply cache answers it, with no model call
      blob = await response.blob();
      name = kind === "csv" ? "claims.csv" : "claimreview.jsonld";
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    say(`Export failed: ${error.message}`);
  }
}

function readDropped(file) {
  const reader = new FileReader();
  reader.onload = () => {
    $("text").value = reader.result;
    if (/\.html?$/i.test(file.name)) $("format").value = "html";
  };
  reader.readAsText(file);
}

$("score").value = DEFAULT_THRESHOLD;
fillLanguages($("language"));
$("extract").addEventListener("click", extract);
$("score").addEventListener("input", () => state.result && draw());
$("key").addEventListener("change", loadChoices);
$("file").addEventListener("change", (event) => event.target.files[0] && readDropped(event.target.files[0]));
$("text").addEventListener("dragover", (event) => event.preventDefault());
$("text").addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files[0]) readDropped(event.dataTransfer.files[0]);
});
document.querySelectorAll("[data-export]").forEach((button) => button.addEventListener("click", () => exportAs(button.dataset.export)));
document.addEventListener("keydown", (event) => { if (event.key === "Escape") select(null); });
NARROW.addEventListener("change", () => state.selected && place(null));
loadChoices();
