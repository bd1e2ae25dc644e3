// @ts-check
/**
 * The operation dialog (`dialog#op-dialog[data-op]`): one write at a time, with the guard rails of the API made
 * visible: the change as `3 → 5`, warnings, the autoscaler and an explicit force, a dry run showing the API server's
 * verdict, the equivalent commands, If-Match with the version the user saw, a 412 shown as what changed with a
 * Review, then the rollout's progress until the answer.
 * @module
 */

import * as api from "./api.js";
import { cliLine, curlLine } from "./commands.js";
import { keyOf } from "./format.js";
import { imageAllowed } from "./permissions.js";

/** @typedef {import("./types.js").Deployment} Deployment */
/** @typedef {import("./types.js").Op} Op */
/** @typedef {import("./api.js").WriteSpec} WriteSpec */

const TITLES = /** @type {Record<Op, string>} */ ({
  scale: "Scale",
  restart: "Restart",
  pause: "Pause rollouts of",
  resume: "Resume rollouts of",
  undo: "Undo the rollout of",
  image: "Set the image of",
});

/** @param {string} id */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el;
}

/** The warning for a new replica count, or "". @param {Deployment} d @param {number} n */
export function scaleWarning(d, n) {
  /** @type {string[]} */
  const lines = [];
  if (n === 0 && d.replicas > 0) lines.push("Scaling to 0 stops every Pod of this Deployment.");
  else if (n !== d.replicas && (n - d.replicas >= 10 || (d.replicas > 0 && n >= 2 * d.replicas && n - d.replicas > 1))) {
    lines.push(`A large jump: ${d.replicas} → ${n}.`);
  } else if (d.replicas - n >= 10 || (n > 0 && d.replicas >= 2 * n && d.replicas - n > 1)) {
    lines.push(`A large cut: ${d.replicas} → ${n}.`);
  }
  const a = d.autoscaler;
  if (a) {
    const min = a.minReplicas ?? 1;
    const what = n < min
      ? `will scale it back up to at least ${min}`
      : n > a.maxReplicas
      ? `will scale it back down to at most ${a.maxReplicas}`
      : "will scale it back to what its metrics ask for";
    lines.push(`HPA ${a.name} (${min}–${a.maxReplicas}) scales this Deployment and ${what}.`);
  }
  return lines.join(" ");
}

/** Light client-side check of an image reference; the server validates for real. @param {string} image */
export function imageProblem(image) {
  if (image === "") return "Enter an image.";
  if (/\s/.test(image)) return "An image reference has no spaces.";
  const last = image.slice(image.lastIndexOf("/") + 1);
  if (!image.includes("@") && !last.includes(":")) return "Give a tag or a digest (an untagged image means :latest, which moves).";
  return "";
}

/**
 * @param {{ get: (key: string) => Deployment | undefined, patterns: (namespace: string) => string[],
 *   onClosed: (key: string) => void }} deps
 */
export function createOpDialog(deps) {
  const dialog = /** @type {HTMLDialogElement} */ ($("op-dialog"));
  const form = /** @type {HTMLFormElement} */ ($("op-form"));
  const replicasInput = /** @type {HTMLInputElement} */ ($("op-replicas"));
  const force = /** @type {HTMLInputElement} */ ($("op-force"));
  const container = /** @type {HTMLSelectElement} */ ($("op-container"));
  const image = /** @type {HTMLInputElement} */ ($("op-image"));
  const revision = /** @type {HTMLSelectElement} */ ($("op-revision"));
  const submit = /** @type {HTMLButtonElement} */ ($("op-submit"));
  const dryRun = /** @type {HTMLButtonElement} */ ($("op-dry-run"));
  const progressBar = /** @type {HTMLProgressElement} */ ($("op-progress-bar"));

  /** @type {Op} */
  let op = "scale";
  /** @type {Deployment | null} the state the user saw (and whose version If-Match sends) */
  let seen = null;
  let busy = false;
  /**
   * The write being followed (wait=rollout): the version it started from, the count asked for, and its request.
   * @type {{ from: string | undefined, replicas: number | undefined, controller: AbortController, applied: boolean } | null}
   */
  let waiting = null;

  const show = (/** @type {string} */ id, /** @type {boolean} */ on) => ($(id).hidden = !on);
  function say(/** @type {string} */ id, /** @type {string} */ text) {
    const el = $(id);
    el.textContent = text;
    el.hidden = text === "";
  }

  /** @returns {WriteSpec | null} */
  function spec(dry = false) {
    if (!seen) return null;
    /** @type {WriteSpec} */
    const s = {
      op,
      namespace: seen.namespace,
      name: seen.name,
      ifMatch: `"${seen.resourceVersion}"`,
      dryRun: dry,
      wait: !dry && op !== "pause",
    };
    if (op === "scale") {
      s.replicas = Number(replicasInput.value);
      if (seen.autoscaler) s.force = force.checked;
    }
    if (op === "image") {
      s.container = container.value;
      s.image = image.value.trim();
    }
    if (op === "undo" && revision.value !== "") s.toRevision = Number(revision.value);
    return s;
  }

  /** Whether the form may be sent, and the warning/validation text. */
  function refresh() {
    if (!seen) return;
    let blocked = "";
    if (op === "scale") {
      const n = Number(replicasInput.value);
      const valid = replicasInput.value !== "" && Number.isInteger(n) && n >= 0;
      say("op-change", valid ? `${seen.replicas} → ${n}` : "");
      if (!valid) blocked = "Enter a whole number of replicas, 0 or more.";
      say("op-warning", valid ? scaleWarning(seen, n) : blocked);
      show("op-force-row", seen.autoscaler !== undefined);
      if (valid && seen.autoscaler && !force.checked) blocked = "force";
      if (valid && n === seen.replicas) blocked = "unchanged";
    } else if (op === "image") {
      const value = image.value.trim();
      const problem = container.value === "" ? "Choose a container." : imageProblem(value);
      const patterns = deps.patterns(seen.namespace);
      const outside = problem === "" && patterns.length > 0 && !imageAllowed(value, patterns)
        ? `Your policy allows only ${patterns.join(", ")} here: the service will refuse this image.`
        : "";
      say("op-warning", problem && value !== "" ? problem : outside);
      if (problem) blocked = problem;
    } else if (op === "restart") {
      say("op-warning", seen.paused ? "This Deployment is paused: resume it first (the service refuses a restart)." : "");
    } else if (op === "undo") {
      say("op-warning", seen.paused ? "This Deployment is paused: resume it first (the service refuses an undo)." : "");
    }
    submit.disabled = busy || blocked !== "";
    dryRun.disabled = busy || (blocked !== "" && blocked !== "unchanged");
    const s = spec();
    $("op-commands").textContent = s ? `${cliLine(s)}\n${curlLine(s, location.origin)}` : "";
  }

  function clearOutcome() {
    for (const id of ["op-verdict", "op-result", "op-error"]) say(id, "");
    show("op-conflict", false);
    show("op-progress", false);
  }

  /** Fills the fields from `d` (the state now seen). @param {Deployment} d */
  async function load(d) {
    seen = d;
    $("op-title").textContent = `${TITLES[op]} ${keyOf(d)}`;
    $("op-summary").textContent = op === "scale"
      ? `Now ${d.replicas} replicas (${d.readyReplicas} ready, ${d.availableReplicas} available); version ${d.resourceVersion}.`
      : `Version ${d.resourceVersion}${d.paused ? ", paused" : ""}${d.revision ? `, revision ${d.revision}` : ""}.`;
    show("op-scale", op === "scale");
    show("op-image-fields", op === "image");
    show("op-undo-fields", op === "undo");
    show("op-force-row", false);
    if (op === "scale") {
      replicasInput.value = String(d.replicas);
      force.checked = false;
    }
    if (op === "image") await loadContainers(d);
    if (op === "undo") await loadRevisions(d);
    refresh();
  }

  /** @param {Deployment} d */
  async function loadContainers(d) {
    let containers = d.containers;
    if (!containers) {
      const answer = await api.deployment(d.namespace, d.name);
      containers = answer.status === 200 ? answer.body.containers : undefined;
    }
    const previous = container.value;
    container.replaceChildren(...(containers ?? []).map((c) => new Option(`${c.name}${c.init ? " (init)" : ""}: ${c.image}`, c.name)));
    if (!containers || containers.length === 0) container.append(new Option("(containers unknown: the server gives no detail)", ""));
    if ([...container.options].some((o) => o.value === previous)) container.value = previous;
    const current = (containers ?? []).find((c) => c.name === container.value);
    image.value = current?.image ?? "";
    const patterns = deps.patterns(d.namespace);
    $("op-image-hint").textContent = patterns.length ? `Allowed here: ${patterns.join(", ")}` : "";
  }

  /** @param {Deployment} d */
  async function loadRevisions(d) {
    revision.replaceChildren(new Option("The previous revision", ""));
    const answer = await api.revisions(d.namespace, d.name);
    if (answer.status !== 200) {
      say("op-error", `Revisions unavailable: ${api.problemText(answer.body, answer.status)}`);
      return;
    }
    /** @type {import("./types.js").Revision[]} */
    const list = answer.body.revisions ?? [];
    for (const r of [...list].reverse()) {
      const images = r.images.map((i) => `${i.name}=${i.image}`).join(", ");
      const option = new Option(`${r.revision}${r.current ? " (current)" : ""}: ${images}`, String(r.revision));
      option.disabled = r.current;
      revision.append(option);
    }
  }

  /** @param {boolean} dry */
  async function send(dry) {
    const s = spec(dry);
    if (!s || busy) return;
    busy = true;
    clearOutcome();
    refresh();
    const controller = new AbortController();
    if (!dry && s.wait) {
      waiting = { from: seen?.resourceVersion, replicas: s.replicas, controller, applied: false };
      show("op-progress", true);
      progress(deps.get(`${s.namespace}/${s.name}`) ?? seen);
    }
    const answer = await api.write(s, controller.signal);
    busy = false;
    waiting = null;
    show("op-progress", false);
    // Closing the dialog stops following the rollout (the write itself is done or refused by then).
    if (answer.status === 0 && controller.signal.aborted) return;
    outcome(answer, dry);
    refresh();
  }

  /**
   * While the answer waits for the rollout, the live feed already shows whether the write landed: say so at
   * once, so nobody clicks again wondering whether the first click did anything.
   * @param {Deployment} d
   */
  function landed(d) {
    if (!waiting || waiting.applied || d.resourceVersion === waiting.from) return;
    if (op === "scale" && d.replicas !== waiting.replicas) return;
    waiting.applied = true;
    say("op-result", `Applied${op === "scale" ? ` (now ${d.replicas})` : ""}; following the rollout…`);
  }

  /** @param {import("./api.js").Answer} answer @param {boolean} dry */
  function outcome(answer, dry) {
    const b = answer.body ?? {};
    if (answer.status === 200 || answer.status === 202) {
      if (dry) {
        say(
          "op-verdict",
          `Dry run: the API server accepts this${
            b.replicas !== undefined ? ` (${b.previousReplicas ?? "?"} → ${b.replicas})` : ""
          }. Nothing was changed.`,
        );
        return;
      }
      const r = b.rollout;
      const text = answer.status === 200
        ? `Done${b.changed === false ? " (nothing to change)" : ""}${r ? ": rollout complete" : ""}.`
        : `Applied; the rollout is still in progress${r?.reason ? ` (${r.reason}${r.message ? `: ${r.message}` : ""})` : ""}.`;
      say("op-result", text);
      // The next write of this dialog starts from what this one made (its If-Match is the new version).
      const now = seen ? deps.get(keyOf(seen)) : undefined;
      if (now) seen = now;
      return;
    }
    if (answer.status === 412) {
      void conflict();
      return;
    }
    const text = api.problemText(b, answer.status);
    if (dry) say("op-verdict", `Dry run refused: ${text}`);
    else say("op-error", text);
  }

  /** 412: someone changed it since it was read. Show what changed; Review loads it. */
  async function conflict() {
    if (!seen) return;
    const before = seen;
    const answer = await api.deployment(before.namespace, before.name);
    /** @type {Deployment | undefined} */
    const now = answer.status === 200 ? answer.body : deps.get(keyOf(before));
    /** @type {string[]} */
    const diffs = [];
    if (now) {
      const fields = /** @type {const} */ (["replicas", "paused", "revision", "resourceVersion"]);
      for (const f of fields) if (now[f] !== undefined && now[f] !== before[f]) diffs.push(`${f} ${before[f] ?? "—"} → ${now[f]}`);
      const images = (/** @type {Deployment} */ d) => (d.containers ?? []).map((c) => `${c.name}=${c.image}`).join(", ");
      if (images(now) !== images(before) && now.containers) diffs.push(`images ${images(before) || "—"} → ${images(now)}`);
    }
    $("op-conflict-text").textContent = `It changed since you read it (412, nothing was done): ${diffs.join("; ") || "a newer version"}.`;
    show("op-conflict", true);
    conflictState = now ?? null;
  }
  /** @type {Deployment | null} */
  let conflictState = null;

  /** The rollout's progress from the live record, while wait=rollout runs. @param {Deployment | null | undefined} d */
  function progress(d) {
    if (!d) return;
    const r = d.rollout;
    const target = op === "scale" ? Number(replicasInput.value) : d.replicas;
    const ready = r ? Math.min(r.updatedReplicas, r.availableReplicas) : d.availableReplicas;
    $("op-progress-text").textContent = r
      ? `Rolling out: ${r.updatedReplicas} updated, ${r.readyReplicas} ready, ${r.availableReplicas} available of ${target}${
        r.reason ? ` (${r.reason})` : ""
      }`
      : `Rolling out: ${d.readyReplicas} ready, ${d.availableReplicas} available of ${target}`;
    progressBar.value = target > 0 ? Math.min(1, ready / target) : 1;
  }

  replicasInput.addEventListener("input", refresh);
  force.addEventListener("change", refresh);
  image.addEventListener("input", refresh);
  revision.addEventListener("change", refresh);
  container.addEventListener("change", () => {
    const c = seen?.containers?.find((x) => x.name === container.value);
    if (c) image.value = c.image;
    refresh();
  });
  const step = (/** @type {number} */ delta) => {
    replicasInput.value = String(Math.max(0, (Number(replicasInput.value) || 0) + delta));
    refresh();
  };
  $("op-decrease").addEventListener("click", () => step(-1));
  $("op-increase").addEventListener("click", () => step(1));
  dryRun.addEventListener("click", () => void send(true));
  $("op-cancel").addEventListener("click", () => dialog.close());
  $("op-review").addEventListener("click", () => {
    const now = conflictState ?? (seen ? deps.get(keyOf(seen)) : undefined);
    clearOutcome();
    if (now) {
      const keep = op === "scale" ? replicasInput.value : "";
      void load(now).then(() => {
        if (keep !== "") replicasInput.value = keep;
        refresh();
        replicasInput.focus();
      });
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void send(false);
  });
  dialog.addEventListener("close", () => {
    waiting?.controller.abort();
    if (seen) deps.onClosed(keyOf(seen));
  });

  return {
    /** @param {Op} which @param {string} key */
    async open(which, key) {
      const d = deps.get(key);
      if (!d) return;
      op = which;
      dialog.dataset.op = which;
      submit.textContent = which === "scale" ? "Scale" : which === "image" ? "Set image" : TITLES[which].split(" ")[0];
      clearOutcome();
      busy = false;
      await load(d);
      if (!dialog.open) dialog.showModal();
      (op === "scale" ? replicasInput : op === "image" ? image : op === "undo" ? revision : submit).focus();
    },
    /** Live changes while open: the progress of a running wait. @param {Deployment} d */
    update(d) {
      if (dialog.open && waiting && seen && keyOf(d) === keyOf(seen)) {
        progress(d);
        landed(d);
      }
    },
    isOpen: () => dialog.open,
  };
}
