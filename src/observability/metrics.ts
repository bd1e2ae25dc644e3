/**
 * A small Prometheus metrics registry (text exposition format 0.0.4) written
 * with the standard library only. Counters, gauges (set, or computed at scrape
 * time) and histograms, each with a fixed label set declared up front so a
 * typo cannot create a new series.
 */

export type Labels = Record<string, string>;

interface Metric {
  readonly name: string;
  render(lines: string[]): void;
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelString(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i])}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Series are keyed by their label values in declaration order. */
class Family<T> {
  readonly series = new Map<string, { values: string[]; state: T }>();
  constructor(readonly labelNames: readonly string[], private readonly init: () => T) {}
  get(labels: Labels): T {
    const values = this.labelNames.map((n) => {
      const v = labels[n];
      if (v === undefined) throw new Error(`missing label "${n}"`);
      return v;
    });
    const key = values.join("\u0000");
    let entry = this.series.get(key);
    if (!entry) {
      entry = { values, state: this.init() };
      this.series.set(key, entry);
    }
    return entry.state;
  }
}

/**
 * A series resolved once (see `child()` on each metric): updating it skips the
 * label lookup, which matters on the per-request path.
 */
export interface CounterChild {
  inc(by?: number): void;
}
export interface GaugeChild {
  inc(by?: number): void;
  dec(by?: number): void;
}
export interface HistogramChild {
  observe(value: number): void;
}

export class Counter implements Metric {
  #family: Family<{ value: number }>;
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    this.#family = new Family(labelNames, () => ({ value: 0 }));
  }
  inc(labels: Labels = {}, by = 1): void {
    this.#family.get(labels).value += by;
  }
  /** The series for these labels (created now, so it is exported from now on). */
  child(labels: Labels): CounterChild {
    const state = this.#family.get(labels);
    return { inc: (by = 1) => void (state.value += by) };
  }
  value(labels: Labels = {}): number {
    return this.#family.get(labels).value;
  }
  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`);
    for (const { values, state } of this.#family.series.values()) {
      lines.push(`${this.name}${labelString(this.#family.labelNames, values)} ${formatValue(state.value)}`);
    }
  }
}

export class Gauge implements Metric {
  #family: Family<{ value: number }>;
  #collect?: () => Array<[Labels, number]>;
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = [], collect?: () => Array<[Labels, number]>) {
    this.#family = new Family(labelNames, () => ({ value: 0 }));
    this.#collect = collect;
  }
  set(labels: Labels, value: number): void {
    this.#family.get(labels).value = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.#family.get(labels).value += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.#family.get(labels).value -= by;
  }
  /** The series for these labels (created now, so it is exported from now on). */
  child(labels: Labels): GaugeChild {
    const state = this.#family.get(labels);
    return { inc: (by = 1) => void (state.value += by), dec: (by = 1) => void (state.value -= by) };
  }
  render(lines: string[]): void {
    if (this.#collect) { for (const [labels, value] of this.#collect()) this.set(labels, value); }
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`);
    for (const { values, state } of this.#family.series.values()) {
      lines.push(`${this.name}${labelString(this.#family.labelNames, values)} ${formatValue(state.value)}`);
    }
  }
}

/** Request-latency buckets in seconds: sub-millisecond reads up to multi-second writes. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram implements Metric {
  #family: Family<{ counts: number[]; sum: number; count: number }>;
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = [], readonly buckets = LATENCY_BUCKETS) {
    this.#family = new Family(labelNames, () => ({ counts: new Array(buckets.length).fill(0), sum: 0, count: 0 }));
  }
  observe(labels: Labels, value: number): void {
    this.#record(this.#family.get(labels), value);
  }
  /** The series for these labels (created now, so it is exported from now on). */
  child(labels: Labels): HistogramChild {
    const state = this.#family.get(labels);
    return { observe: (value) => this.#record(state, value) };
  }
  #record(state: { counts: number[]; sum: number; count: number }, value: number): void {
    // Cumulative counts are computed at render time; here one bucket per observation keeps this cheap.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]) i++;
    if (i < this.buckets.length) state.counts[i]++;
    state.sum += value;
    state.count++;
  }
  render(lines: string[]): void {
    const names = this.#family.labelNames;
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`);
    for (const { values, state } of this.#family.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += state.counts[i];
        lines.push(`${this.name}_bucket${labelString(names, values, ["le", formatValue(this.buckets[i])])} ${cumulative}`);
      }
      lines.push(`${this.name}_bucket${labelString(names, values, ["le", "+Inf"])} ${state.count}`);
      lines.push(`${this.name}_sum${labelString(names, values)} ${formatValue(state.sum)}`);
      lines.push(`${this.name}_count${labelString(names, values)} ${state.count}`);
    }
  }
}

export class Registry {
  #metrics = new Map<string, Metric>();
  register<M extends Metric>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: () => Array<[Labels, number]>): Gauge {
    return this.register(new Gauge(name, help, labelNames, collect));
  }
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets));
  }
  /** The exposition text for GET /metrics. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics.values()) metric.render(lines);
    return lines.join("\n") + "\n";
  }
}
