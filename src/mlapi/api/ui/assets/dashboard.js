// The registry dashboard: what the page shows, and what its buttons and form do, through
// mlapi's REST API. Every change asks for confirmation first; every refusal shows the
// API's problem detail, and a refusal for the key opens the key panel.

import { call, Problem, storedKey, storeKey } from "./api.js";
import { changedHyperparameters, datasetChoice, showHyperparameters } from "./form.js";
import { comparison, datasetOf, el, percent, versionDetail, when } from "./render.js";

const PAGE_SIZE = 20;
/** Milliseconds between looks at the jobs while one is queued or running, and otherwise. */
const BUSY_POLL = 1000;
const IDLE_POLL = 5000;

const state = {
  versions: [],
  total: 0,
  offset: 0,
  served: null,
  algorithms: [],
  unfinished: new Set(),
  poll: null,
  shown: null,
};

const $ = (id) => document.getElementById(id);

// -- Problems and the key ----------------------------------------------------------------

function showProblem(error) {
  const problem = error instanceof Problem ? error : new Problem(0, { detail: String(error) });
  $("problem-title").textContent = `${problem.title}:`;
  $("problem-detail").textContent = problem.detail;
  const list = $("problem-errors");
  list.replaceChildren();
  for (const item of problem.errors) {
    const where = item.pointer ?? item.parameter ?? item.header ?? "";
    list.append(el("li", { text: where ? `${where}: ${item.detail}` : item.detail }));
  }
  $("problem").hidden = false;
  if (problem.aboutKey) {
    askForKey(problem.detail);
  }
}

function clearProblem() {
  $("problem").hidden = true;
}

function askForKey(reason) {
  $("key-reason").textContent = reason;
  $("key-panel").hidden = false;
  $("key-input").focus();
}

/** Run `action`, showing its problem if it fails; true if it succeeded. */
async function attempt(action) {
  try {
    await action();
    return true;
  } catch (error) {
    showProblem(error);
    return false;
  }
}

// -- Confirmation ------------------------------------------------------------------------

/** Ask the user to confirm; resolves true for the confirm button, false otherwise. */
function confirmed(text, label, dismiss = "Cancel") {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = label;
  $("confirm-cancel").textContent = dismiss;
  return new Promise((resolve) => {
    const finish = (answer) => {
      $("confirm-ok").onclick = null;
      $("confirm-cancel").onclick = null;
      dialog.onclose = null;
      if (dialog.open) {
        dialog.close();
      }
      resolve(answer);
    };
    $("confirm-ok").onclick = () => finish(true);
    $("confirm-cancel").onclick = () => finish(false);
    dialog.onclose = () => finish(false); // Escape
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

// -- The served version and the versions -------------------------------------------------

async function loadServed() {
  const served = await call("GET", "v1/model");
  state.served = served;
  $("served").replaceChildren(
    "Serving ",
    el("strong", { text: `version ${served.version}` }),
    `: ${served.algorithm} trained on `,
    el("strong", { text: served.dataset_name }),
    `, ${percent(served.metrics.accuracy)} accurate on held-out rows.`,
  );
}

function versionRow(version) {
  const number = el(
    "button",
    { type: "button", class: "link", "aria-label": `v${version.version}, details`, title: "Show its details" },
    `v${version.version}`,
  );
  number.addEventListener("click", () => showVersion(version.version));
  const activate = el("button", { type: "button", disabled: version.active }, "Activate");
  activate.addEventListener("click", () => activateVersion(version.version));
  const remove = el("button", { type: "button", class: "danger", disabled: version.active }, "Delete");
  remove.addEventListener("click", () => deleteVersion(version.version));
  const badge = version.active ? el("span", { class: "badge", text: "serving" }) : null;
  return el(
    "tr",
    { "data-version": version.version, class: version.active ? "active" : "" },
    el("td", {}, number, " ", badge),
    el("td", { text: version.algorithm }),
    el("td", { class: "wrap", text: datasetOf(version) }),
    el("td", { class: "number", text: percent(version.metrics.accuracy) }),
    el("td", { class: "number", text: percent(version.metrics.macro_f1) }),
    el("td", { text: when(version.created_at) }),
    el("td", { class: "actions" }, activate, remove),
  );
}

async function loadVersions() {
  const page = await call("GET", `v1/models?limit=${PAGE_SIZE}&offset=${state.offset}`);
  state.versions = page.items;
  state.total = page.total;
  $("versions-table").tBodies[0].replaceChildren(...page.items.map(versionRow));
  const last = Math.min(state.offset + page.items.length, page.total);
  $("versions-count").textContent = page.total
    ? `${state.offset + 1}–${last} of ${page.total}`
    : "No versions";
  $("versions-newer").disabled = state.offset === 0;
  $("versions-older").disabled = last >= page.total;
  const names = new Set(page.items.map((version) => version.dataset_name));
  $("dataset-names").replaceChildren(...[...names].map((name) => el("option", { value: name })));
  showComparisonChoices();
}

async function showVersion(number) {
  const version = await call("GET", `v1/models/${number}`).catch(showProblem);
  if (!version) {
    return;
  }
  state.shown = number;
  $("detail-title").textContent = `Version ${version.version}${version.active ? " (serving)" : ""}`;
  $("detail-body").replaceChildren(...versionDetail(version));
  $("card-body").replaceChildren(el("p", { text: "Loading the model card…" }));
  $("detail").hidden = false;
  $("detail").focus();
  try {
    // The server renders the card's Markdown with raw HTML escaped.
    $("card-body").innerHTML = await call("GET", `v1/models/${number}/card`, { accept: "text/html" });
  } catch (error) {
    $("card-body").replaceChildren(el("p", { text: `No model card: ${error.message}` }));
  }
}

async function activateVersion(number) {
  const current = state.served ? ` instead of version ${state.served.version}` : "";
  if (!(await confirmed(`Serve version ${number}${current}? Every server process switches to it within a second.`, `Activate version ${number}`))) {
    return;
  }
  clearProblem();
  await attempt(async () => {
    await call("POST", `v1/models/${number}/activate`);
    await Promise.all([loadServed(), loadVersions()]);
  });
}

async function deleteVersion(number) {
  if (!(await confirmed(`Delete version ${number} and its model file? This cannot be undone.`, `Delete version ${number}`))) {
    return;
  }
  clearProblem();
  await attempt(async () => {
    await call("DELETE", `v1/models/${number}`);
    if (state.shown === number) {
      $("detail").hidden = true;
    }
    await loadVersions();
  });
}

// -- Comparing two versions ----------------------------------------------------------------

function showComparisonChoices() {
  const choices = [$("compare-a"), $("compare-b")];
  const kept = choices.map((select) => select.value);
  choices.forEach((select, i) => {
    select.replaceChildren(
      ...state.versions.map((version) =>
        el("option", { value: version.version, text: `v${version.version} · ${version.algorithm} · ${version.dataset_name}` }),
      ),
    );
    const fallback = state.versions[i === 0 ? 0 : 1] ?? state.versions[0];
    const wanted = state.versions.some((version) => String(version.version) === kept[i]) ? kept[i] : fallback?.version;
    if (wanted !== undefined) {
      select.value = String(wanted);
    }
  });
  compare();
}

function compare() {
  const find = (select) => state.versions.find((version) => String(version.version) === select.value);
  const a = find($("compare-a"));
  const b = find($("compare-b"));
  if (!a || !b || a === b) {
    $("compare-body").replaceChildren(el("p", { class: "hint", text: "Choose two different versions." }));
    return;
  }
  $("compare-body").replaceChildren(...comparison(a, b));
}

// -- Jobs ------------------------------------------------------------------------------------

function jobRow(job) {
  const progress = el("progress", { max: "1", value: job.progress, "aria-label": `Job ${job.id}` });
  const version = job.model_version
    ? el("button", { type: "button", class: "link", text: `v${job.model_version}` })
    : el("span", { class: job.state === "failed" ? "error" : "note", text: job.error ?? "" });
  if (job.model_version) {
    version.addEventListener("click", () => showVersion(job.model_version));
  }
  const unfinished = job.state === "queued" || job.state === "running";
  const cancel = unfinished
    ? el("button", { type: "button", class: "danger", "aria-label": `Cancel job ${job.id}` }, "Cancel")
    : null;
  cancel?.addEventListener("click", () => cancelJob(job));
  return el(
    "tr",
    { "data-job": job.id, "data-state": job.state },
    el("td", { text: when(job.created_at) }),
    el("td", { text: job.algorithm }),
    el("td", { class: "wrap", text: job.dataset.url ?? job.dataset.name ?? "" }),
    el("td", {}, el("span", { class: `state ${job.state}`, text: job.state })),
    el("td", { class: "progress" }, progress, el("span", { text: ` ${Math.round(100 * job.progress)} %` })),
    el("td", {}, version),
    el("td", { class: "actions" }, cancel),
  );
}

async function cancelJob(job) {
  const what = job.state === "running" ? "Stop training" : "Drop the queued job";
  if (!(await confirmed(`${what} ${job.algorithm} (job ${job.id})? It registers no version.`, "Cancel the job", "Keep it"))) {
    return;
  }
  clearProblem();
  await attempt(async () => {
    await call("POST", `v1/jobs/${job.id}/cancel`);
    await loadJobs();
  });
}

async function loadJobs() {
  const page = await call("GET", "v1/jobs?limit=10");
  $("jobs-table").tBodies[0].replaceChildren(...page.items.map(jobRow));
  const unfinished = new Set(page.items.filter((job) => job.state === "queued" || job.state === "running").map((job) => job.id));
  const finishedNow = [...state.unfinished].some((id) => !unfinished.has(id));
  state.unfinished = unfinished;
  if (finishedNow) {
    await Promise.all([loadServed(), loadVersions()]);
  }
}

/** Look at the jobs again and again: every second while one is queued or running. */
function schedulePoll() {
  clearTimeout(state.poll);
  state.poll = setTimeout(async () => {
    try {
      await loadJobs();
    } catch (error) {
      if (!(error instanceof Problem && error.aboutKey)) {
        showProblem(error);
      }
    }
    schedulePoll();
  }, state.unfinished.size ? BUSY_POLL : IDLE_POLL);
}

// -- Training --------------------------------------------------------------------------------

async function loadAlgorithms() {
  state.algorithms = await call("GET", "v1/algorithms");
  const select = $("train-algorithm");
  select.replaceChildren(
    ...state.algorithms.map((entry) =>
      el("option", { value: entry.name, text: entry.default ? `${entry.title} (default)` : entry.title, selected: entry.default }),
    ),
  );
  showAlgorithm();
}

function showAlgorithm() {
  const entry = state.algorithms.find((each) => each.name === $("train-algorithm").value);
  if (entry) {
    showHyperparameters($("train-hyperparameters"), entry);
  }
}

async function startTraining(event) {
  event.preventDefault();
  const algorithm = $("train-algorithm").value;
  const order = {
    algorithm,
    hyperparameters: changedHyperparameters($("train-hyperparameters")),
    activate: $("train-activate").checked,
  };
  const dataset = datasetChoice($("train-dataset").value, $("train-sha256").value);
  if (dataset !== undefined) {
    order.dataset = dataset;
  }
  const title = state.algorithms.find((each) => each.name === algorithm)?.title ?? algorithm;
  const where = typeof dataset === "object" ? dataset.url : dataset ?? "the default data set";
  const then = order.activate ? " and serve it" : "";
  if (!(await confirmed(`Train ${title.toLowerCase()} on ${where}${then}?`, "Start training"))) {
    return;
  }
  clearProblem();
  await attempt(async () => {
    await call("POST", "v1/train", { body: order });
    await loadJobs();
    schedulePoll();
    $("jobs").scrollIntoView({ behavior: "smooth" });
  });
}

// -- Start -----------------------------------------------------------------------------------

async function loadAll() {
  clearProblem();
  $("key-button").textContent = storedKey() ? "API key (set)" : "API key";
  const served = loadServed().catch((error) => {
    $("served").textContent = `The served version cannot be shown: ${error.message}`;
    throw error;
  });
  const loads = [served, loadVersions(), loadJobs(), loadAlgorithms()];
  const failures = (await Promise.allSettled(loads)).filter((each) => each.status === "rejected");
  if (failures.length) {
    showProblem(failures[0].reason);
  }
  schedulePoll();
}

function start() {
  $("problem-close").addEventListener("click", clearProblem);
  $("key-button").addEventListener("click", () => {
    const panel = $("key-panel");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) {
      $("key-input").focus();
    }
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    storeKey($("key-input").value.trim());
    $("key-input").value = "";
    $("key-panel").hidden = true;
    loadAll();
  });
  $("key-forget").addEventListener("click", () => {
    storeKey("");
    $("key-panel").hidden = true;
    loadAll();
  });
  $("versions-newer").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    attempt(loadVersions);
  });
  $("versions-older").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    attempt(loadVersions);
  });
  $("compare-a").addEventListener("change", compare);
  $("compare-b").addEventListener("change", compare);
  $("train-algorithm").addEventListener("change", showAlgorithm);
  $("train-form").addEventListener("submit", startTraining);
  loadAll();
}

start();
