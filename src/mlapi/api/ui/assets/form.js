// The training form's hyperparameter fields, built from the JSON Schema the catalogue
// gives for each algorithm (GET /v1/algorithms), and read back into a training request.
//
// The browser does not check the values: the API does, and its problem detail names the
// field that is wrong, so what the form says is what the server enforces.

import { el, shown } from "./render.js";

/** The schema of a property without its "or null" branch, and whether null is allowed. */
function unwrap(property) {
  const branches = property.anyOf ?? [];
  const nullable = branches.some((branch) => branch.type === "null");
  const inner = branches.find((branch) => branch.type !== "null") ?? property;
  return { inner: { ...inner, enum: inner.enum ?? property.enum }, nullable };
}

/** What a field's hint says of its bounds, as text ("from 1 to 1000"). */
function bounds(schema) {
  const low = schema.minimum ?? schema.exclusiveMinimum;
  const high = schema.maximum ?? schema.exclusiveMaximum;
  const parts = [];
  if (low !== undefined) {
    parts.push(`${schema.exclusiveMinimum !== undefined ? "above" : "from"} ${low}`);
  }
  if (high !== undefined) {
    parts.push(`${schema.exclusiveMaximum !== undefined ? "below" : "to"} ${high}`);
  }
  return parts.join(" ");
}

/**
 * Replace the fields of `fieldset` with one per hyperparameter of `entry`.
 *
 * @param {HTMLFieldSetElement} fieldset Where the fields go, after its legend.
 * @param {object} entry An algorithm of GET /v1/algorithms.
 */
export function showHyperparameters(fieldset, entry) {
  for (const field of fieldset.querySelectorAll(".field")) {
    field.remove();
  }
  for (const [name, property] of Object.entries(entry.hyperparameters.properties ?? {})) {
    const { inner, nullable } = unwrap(property);
    const id = `hp-${name}`;
    const value = entry.defaults[name];
    let input;
    if (inner.enum) {
      input = el("select", { id, name });
      for (const option of inner.enum) {
        input.append(el("option", { value: option, text: option, selected: option === value }));
      }
    } else if (inner.type === "boolean") {
      input = el("input", { id, name, type: "checkbox", checked: value === true });
    } else {
      const numeric = inner.type === "integer" || inner.type === "number";
      input = el("input", {
        id,
        name,
        type: "text",
        inputmode: inner.type === "integer" ? "numeric" : numeric ? "decimal" : undefined,
        spellcheck: "false",
        value: value === null || value === undefined ? "" : String(value),
        placeholder: nullable ? "none" : undefined,
      });
    }
    input.dataset.kind = inner.enum ? "enum" : inner.type;
    input.dataset.nullable = String(nullable);
    input.dataset.initial = JSON.stringify(value ?? null);
    const hint = [inner.type ?? "", bounds(inner), nullable ? "empty for none" : "", `default ${shown(value)}`]
      .filter(Boolean)
      .join(", ");
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    const field = el(
      "div",
      { class: inner.type === "boolean" ? "field check" : "field" },
      el("label", { for: id, text: property.title ?? name }),
      input,
      el("p", { id: hintId, class: "hint", text: hint }),
    );
    fieldset.append(field);
  }
}

/** A field's value as the API takes it; text the API will refuse is sent as it is. */
function valueOf(input) {
  if (input.type === "checkbox") {
    return input.checked;
  }
  const text = input.value.trim();
  if (text === "" && input.dataset.nullable === "true") {
    return null;
  }
  if ((input.dataset.kind === "integer" || input.dataset.kind === "number") && text !== "") {
    const number = Number(text);
    return Number.isFinite(number) ? number : text;
  }
  return text;
}

/**
 * The hyperparameters the user changed, to send over the server's defaults.
 *
 * @param {HTMLFieldSetElement} fieldset The fields of showHyperparameters.
 * @returns {object} Name to value, for the fields whose value differs from the default.
 */
export function changedHyperparameters(fieldset) {
  const changed = {};
  for (const input of fieldset.querySelectorAll("input, select")) {
    const value = valueOf(input);
    if (JSON.stringify(value) !== input.dataset.initial) {
      changed[input.name] = value;
    }
  }
  return changed;
}

/**
 * The data set part of a training request, from what the user typed.
 *
 * @param {string} text A package URL, a data set's name, or "" for the default.
 * @param {string} sha256 The package's SHA-256, or "".
 * @returns {object|string|undefined} A `{url, sha256}` source, a name, or undefined.
 */
export function datasetChoice(text, sha256) {
  const given = text.trim();
  if (given === "") {
    return undefined;
  }
  if (/^(https?|file):\/\//i.test(given)) {
    return sha256.trim() ? { url: given, sha256: sha256.trim() } : { url: given };
  }
  return given;
}
