// @ts-check
/** The equivalent `bin/replica-api` CLI and curl lines of a write, from the same spec the console sends. @module */

import { writeRequest } from "./api.js";

/** @typedef {import("./api.js").WriteSpec} WriteSpec */

/** Shell-quotes a word when it needs it. @param {string} word */
export function shellQuote(word) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** `bin/replica-api scale ns/name 5 --if-match 123 --wait` and the like. @param {WriteSpec} spec */
export function cliLine(spec) {
  const target = `${spec.namespace}/${spec.name}`;
  /** @type {string[]} */
  const words = ["bin/replica-api"];
  switch (spec.op) {
    case "scale":
      words.push("scale", target, String(spec.replicas ?? 0));
      if (spec.force) words.push("--force");
      break;
    case "image":
      words.push("set-image", target, `${spec.container ?? ""}=${spec.image ?? ""}`);
      break;
    case "undo":
      words.push("undo", target);
      if (spec.toRevision) words.push("--to-revision", String(spec.toRevision));
      break;
    default:
      words.push(spec.op, target);
  }
  // The CLI takes the ETag or the bare resourceVersion: the bare one needs no shell quoting.
  if (spec.ifMatch) words.push("--if-match", spec.ifMatch.replace(/^(W\/)?"(.*)"$/, "$2"));
  if (spec.dryRun) words.push("--dry-run");
  else if (spec.wait && spec.op !== "pause") words.push("--wait");
  return words.map(shellQuote).join(" ");
}

/** The curl line, with the dev PKI's file names as in the README. @param {WriteSpec} spec @param {string} origin */
export function curlLine(spec, origin) {
  const r = writeRequest(spec);
  const qs = r.query.toString();
  const words = ["curl", "-sS", "--cert", "certs/client.crt", "--key", "certs/client.key", "--cacert", "certs/ca.crt"];
  words.push("-X", r.method);
  if (r.body !== undefined) words.push("-H", "Content-Type: application/json");
  if (spec.ifMatch) words.push("-H", `If-Match: ${spec.ifMatch}`);
  if (r.body !== undefined) words.push("-d", JSON.stringify(r.body));
  words.push(`${origin}${r.path}${qs ? `?${qs}` : ""}`);
  return words.map(shellQuote).join(" ");
}
