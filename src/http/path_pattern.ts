/**
 * URLPattern pathnames, matched fast where that is safe.
 *
 * Profiling GET /replicas under load put URLPattern.exec at about a quarter
 * of the service's own time (bench/profile.ts). Our routes only use literal
 * segments and `:name` parameters, whose URLPattern meaning is simple: a
 * parameter matches one non-empty segment (`[^/]+`). Such patterns are compiled
 * into segment lists and matched by comparison; any pattern using more of the
 * syntax (regex groups, modifiers, wildcards, escapes) keeps using URLPattern.
 * A unit test checks both agree on a table of paths.
 */

export interface PathPattern {
  /**
   * The matched parameters (raw, still percent-encoded, as URLPattern gives them), or undefined.
   * `segments` is `pathname.split("/")`, when the caller has it already (a router tries every
   * pattern on the same path, so it splits once).
   */
  exec(pathname: string, segments?: readonly string[]): Record<string, string> | undefined;
  /**
   * How many "/"-separated segments every matching path has (`pathname.split("/").length`), or
   * undefined when that is not fixed (URLPattern fallback): lets a router skip patterns cheaply.
   */
  readonly segmentCount?: number;
}

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const LITERAL = /^[A-Za-z0-9._~-]*$/;

export function compilePathPattern(pattern: string): PathPattern {
  const segments = pattern.split("/");
  const compiled = segments.map((s) => {
    const param = PARAM.exec(s);
    if (param) return { param: param[1] };
    return LITERAL.test(s) ? { literal: s } : undefined;
  });
  if (!pattern.startsWith("/") || compiled.some((c) => c === undefined)) {
    const urlPattern = new URLPattern({ pathname: pattern });
    return {
      exec(pathname) {
        const groups = urlPattern.exec({ pathname })?.pathname.groups;
        if (!groups) return undefined;
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(groups)) if (v !== undefined) out[k] = v;
        return out;
      },
    };
  }
  const parts = compiled as ({ param: string; literal?: undefined } | { literal: string; param?: undefined })[];
  // Every match returns a copy of one template, so all parameter objects of a pattern share one
  // hidden class and their property keys are the template's own (internalised) strings: objects
  // built key by key from computed names were measurably slower to create and to read in handlers.
  const template: Record<string, string> = {};
  for (const part of parts) if (part.param !== undefined) template[part.param] = "";
  const keys = Object.keys(template);
  const slots = parts.flatMap((part, i) => (part.param === undefined ? [] : [i]));
  if (slots.length !== keys.length) throw new TypeError(`duplicate parameter name in path pattern ${pattern}`);
  return {
    segmentCount: parts.length,
    exec(pathname, segments) {
      const actual = segments ?? pathname.split("/");
      if (actual.length !== parts.length) return undefined;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        if (part.literal !== undefined ? actual[i] !== part.literal : actual[i] === "") return undefined;
      }
      const params = { ...template };
      for (let k = 0; k < keys.length; k++) params[keys[k]] = actual[slots[k]];
      return params;
    },
  };
}
