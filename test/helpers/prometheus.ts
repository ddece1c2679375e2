// A parser of the Prometheus text exposition format (version 0.0.4), for tests only: no package
// among the installed ones parses it (prom-client only writes it). Strict on purpose: anything
// that a Prometheus server would reject makes it throw, so a test also checks the format.
// https://prometheus.io/docs/instrumenting/exposition_formats/

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its TYPE, HELP and samples (for a histogram: _bucket, _sum and _count). */
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses an exposition; throws with the line number on anything malformed or duplicated. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(raw)}`);
    };
    const line = raw.trimEnd();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!)) fail('bad metric name');
      const f = family(name!);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) fail('unknown type');
        if (f.samples.length > 0) fail('TYPE after samples');
        f.type = rest as Family['type'];
      } else f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      return;
    }
    const { name, labels, rest } = parseSeries(line, fail);
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') fail('expected a value and an optional timestamp');
    const value = parseValue(parts[0]!, fail);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail('bad timestamp');
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail('duplicate series');
    seen.add(key);
    family(familyOf(name, families)).samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type === 'histogram') checkHistogram(f);
  }
  return families;
}

function parseSeries(line: string, fail: (why: string) => never): { name: string; labels: Record<string, string>; rest: string } {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) fail('bad metric name');
  const name = m![1]!;
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const lm = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(line.slice(i));
      if (!lm) fail('bad label');
      const label = lm![1]!;
      if (!LABEL.test(label) || label in labels) fail(`bad or repeated label ${label}`);
      i += lm![0].length;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) fail('unterminated label value');
        if (c === '"') break;
        if (c === '\\') {
          const n = line[i + 1];
          if (n === 'n') value += '\n';
          else if (n === '\\' || n === '"') value += n;
          else fail('bad escape in label value');
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++; // closing quote
      labels[label] = value;
      const sep = /^\s*,?\s*/.exec(line.slice(i))![0];
      i += sep.length;
      if (i >= line.length) fail('unterminated label set');
    }
    i++;
  }
  if (line[i] !== ' ' && line[i] !== '\t') fail('expected whitespace before the value');
  return { name, labels, rest: line.slice(i) };
}

// As Prometheus reads values (Go's strconv.ParseFloat): NaN and Inf in any case. prom-client
// writes NaN as "Nan" (an empty event-loop-lag histogram), which Prometheus accepts.
function parseValue(text: string, fail: (why: string) => never): number {
  if (/^nan$/i.test(text)) return NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail('bad value');
  return Number(text);
}

// A histogram's or summary's samples carry suffixes; they belong to the family without them.
function familyOf(sample: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === 'histogram' || f.type === 'summary')) return base;
    }
  }
  return sample;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    if (s.name !== `${f.name}_bucket`) continue;
    const { le, ...rest } = s.labels;
    if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const buckets of groups.values()) {
    const sorted = [...buckets].sort((a, b) => parseValue(a.labels.le!, fail) - parseValue(b.labels.le!, fail));
    if (sorted[sorted.length - 1]?.labels.le !== '+Inf') throw new Error(`${f.name}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.value < sorted[i - 1]!.value) throw new Error(`${f.name}: bucket counts are not cumulative`);
    }
  }
}

function fail(why: string): never {
  throw new Error(why);
}

/** The value of the one sample of `name` whose labels include `labels` (throws when none or several match). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const all = [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (all.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${all.length} samples match`);
  return all[0]!.value;
}
