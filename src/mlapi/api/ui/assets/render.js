// Building the page's parts from the API's records: text nodes only, never HTML strings
// (a data set's or a class's name is whatever its package says), except for the model
// card, which the server renders from Markdown with raw HTML escaped.

/**
 * Make an element.
 *
 * @param {string} tag Its tag name.
 * @param {object} [attributes] Attributes to set; `class` and `text` as shorthands.
 * @param {...(Node|string|null)} children Appended in order; strings become text.
 * @returns {HTMLElement} The element.
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name === "text") {
      element.textContent = value;
    } else if (name === "class") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      element.append(child);
    }
  }
  return element;
}

/** A share (0 to 1) as a percentage with one decimal. */
export function percent(value) {
  return `${(100 * value).toFixed(1)} %`;
}

/** A time of the API (ISO 8601) in the reader's locale. */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** A value of a hyperparameter or setting as text. */
export function shown(value) {
  if (value === null || value === undefined) {
    return "none";
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A definition list of `pairs` ([term, description] with text or nodes). */
export function definitions(pairs) {
  const list = el("dl");
  for (const [term, description] of pairs) {
    list.append(el("dt", { text: term }), el("dd", {}, description));
  }
  return list;
}

/** Where a version's data set came from, as text. */
export function datasetOf(version) {
  return version.dataset_url ? `${version.dataset_name} (${version.dataset_url})` : version.dataset_name;
}

/**
 * The confusion matrix as a table, each cell shaded by its share of the true class's rows.
 *
 * @param {string[]} classes The class names, in the matrix's order.
 * @param {number[][]} matrix Counts of true class (rows) against predicted (columns).
 * @param {string} caption What the table shows, for screen readers and the eye.
 * @returns {HTMLElement} The table, in a scrolling box.
 */
export function confusionMatrix(classes, matrix, caption) {
  const head = el("tr", {}, el("th", { scope: "col", text: "true \\ predicted" }));
  for (const name of classes) {
    head.append(el("th", { scope: "col", text: name }));
  }
  const body = el("tbody");
  matrix.forEach((row, i) => {
    const total = row.reduce((sum, count) => sum + count, 0) || 1;
    const line = el("tr", {}, el("th", { scope: "row", text: classes[i] }));
    row.forEach((count, j) => {
      const share = count / total;
      const cell = el("td", {
        class: i === j ? "number hit" : "number miss",
        title: `${count} of ${total} rows of ${classes[i]} predicted ${classes[j]}`,
        text: String(count),
      });
      // Through the CSS object model, which the page's content security policy allows.
      cell.style.setProperty("--share", share.toFixed(3));
      line.append(cell);
    });
    body.append(line);
  });
  return el(
    "div",
    { class: "scroll" },
    el("table", { class: "matrix" }, el("caption", { text: caption }), el("thead", {}, head), body),
  );
}

/** Precision, recall, F1 and held-out rows of each class, as a table. */
export function classMetrics(evaluation, caption) {
  const body = el("tbody");
  for (const [name, metrics] of Object.entries(evaluation.per_class)) {
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: name }),
        el("td", { class: "number", text: percent(metrics.precision) }),
        el("td", { class: "number", text: percent(metrics.recall) }),
        el("td", { class: "number", text: percent(metrics.f1) }),
        el("td", { class: "number", text: String(metrics.support) }),
      ),
    );
  }
  const head = el("tr", {});
  for (const title of ["Class", "Precision", "Recall", "F1", "Rows"]) {
    head.append(el("th", { scope: "col", text: title }));
  }
  return el(
    "div",
    { class: "scroll" },
    el("table", {}, el("caption", { text: caption }), el("thead", {}, head), body),
  );
}

/** Everything the registry holds about a version but its card, as page parts. */
export function versionDetail(version) {
  const hyperparameters = Object.entries(version.hyperparameters).map(([name, value]) => [
    name,
    shown(value),
  ]);
  const features = version.feature_names.map((name, i) => `${name} (${version.feature_types[i]})`);
  const libraries = Object.entries(version.libraries ?? {}).map(([name, value]) => `${name} ${value}`);
  const metrics = version.metrics;
  return [
    definitions([
      ["Algorithm", version.algorithm],
      ["Data set", datasetOf(version)],
      ["Features", features.join(", ")],
      ["Classes", version.class_names.join(", ")],
      ["Accuracy", `${percent(metrics.accuracy)} on ${metrics.test_rows} held-out rows`],
      ["Macro F1", percent(metrics.macro_f1)],
      ["Training time", `${version.training_seconds.toFixed(2)} s`],
      ["Registered", `${when(version.created_at)} by ${version.created_by}`],
      ["Libraries", libraries.join(", ") || "not recorded"],
      ["File SHA-256", el("code", { text: version.checksum })],
    ]),
    el("h3", { text: "Hyperparameters" }),
    definitions(hyperparameters),
    el("h3", { text: "Per class" }),
    classMetrics(metrics, `Held-out metrics of version ${version.version}`),
    el("h3", { text: "Confusion matrix" }),
    confusionMatrix(
      version.class_names,
      metrics.confusion_matrix,
      `Version ${version.version}: held-out rows by true and predicted class`,
    ),
  ];
}

/** Two versions' metrics side by side, with the difference, and both confusion matrices. */
export function comparison(a, b) {
  const rows = [
    ["Accuracy", a.metrics.accuracy, b.metrics.accuracy],
    ["Macro F1", a.metrics.macro_f1, b.metrics.macro_f1],
  ];
  const classes = new Set([...a.class_names, ...b.class_names]);
  for (const name of classes) {
    for (const measure of ["precision", "recall"]) {
      rows.push([
        `${name} ${measure}`,
        a.metrics.per_class[name]?.[measure],
        b.metrics.per_class[name]?.[measure],
      ]);
    }
  }
  const body = el("tbody");
  for (const [title, left, right] of rows) {
    const known = left !== undefined && right !== undefined;
    const change = known ? right - left : 0;
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: title }),
        el("td", { class: "number", text: left === undefined ? "–" : percent(left) }),
        el("td", { class: "number", text: right === undefined ? "–" : percent(right) }),
        el("td", {
          class: `number ${change > 0 ? "better" : change < 0 ? "worse" : ""}`,
          text: known ? `${change >= 0 ? "+" : "−"}${percent(Math.abs(change))}` : "–",
        }),
      ),
    );
  }
  const head = el(
    "tr",
    {},
    el("th", { scope: "col", text: "Metric" }),
    el("th", { scope: "col", text: `Version ${a.version}` }),
    el("th", { scope: "col", text: `Version ${b.version}` }),
    el("th", { scope: "col", text: `Change, v${a.version} → v${b.version}` }),
  );
  const caption = `Version ${a.version} (${a.algorithm}, ${a.dataset_name}) against version ${b.version} (${b.algorithm}, ${b.dataset_name})`;
  return [
    el(
      "div",
      { class: "scroll wide" },
      el("table", {}, el("caption", { text: caption }), el("thead", {}, head), body),
    ),
    el(
      "div",
      { class: "matrices" },
      confusionMatrix(a.class_names, a.metrics.confusion_matrix, `Version ${a.version}`),
      confusionMatrix(b.class_names, b.metrics.confusion_matrix, `Version ${b.version}`),
    ),
  ];
}
