/** Reads the policy file named by AUTHZ_POLICY_FILE and builds the authorizer from it. */
import { allowAll, type Authorizer, createAuthorizer } from "./authorizer.ts";
import { parsePolicy, PolicyError } from "./policy.ts";

/** A policy is a few kilobytes; anything this large is the wrong file. */
const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * The authorizer for a policy file, or {@link allowAll} when `path` is
 * undefined. Throws {@link PolicyError} for an invalid policy and a plain
 * Error (naming the path) when the file cannot be read.
 */
export function loadAuthorizer(path: string | undefined): Authorizer {
  if (path === undefined) return allowAll();
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return authorizerFromBytes(bytes, path);
}

/** The authorizer for the bytes of a policy file; throws {@link PolicyError} naming `path` when they are not one. */
export function authorizerFromBytes(bytes: Uint8Array, path: string): Authorizer {
  if (bytes.byteLength > MAX_POLICY_BYTES) {
    throw new PolicyError(path, { line: 1, column: 1 }, `the file is larger than ${MAX_POLICY_BYTES} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PolicyError(path, { line: 1, column: 1 }, "the file is not UTF-8 text");
  }
  return createAuthorizer(parsePolicy(text, path));
}
