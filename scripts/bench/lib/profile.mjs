// Statement-level profile of a pass: wraps pg's Client#query (the built engine uses the same pg
// module) and adds up the time spent waiting for each kind of statement, per database.
import pg from 'pg';

const KINDS = [
  [/^\s*(BEGIN|COMMIT|ROLLBACK|SET TRANSACTION)/i, 'transaction control'],
  [/AS doc\s+FROM .* AS t\s+(WHERE \(t\.updated_at, t\.id\) >.*)?ORDER BY t\.updated_at/is, 'read page (row_to_json, keyset)'],
  [/LEFT JOIN .* AS t ON t\.id = i\.id/is, 'classify page against target'],
  [/^\s*INSERT INTO "[^"]+" AS t/i, 'upsert page (jsonb_populate_recordset)'],
  [/INTO sync_recent|DELETE FROM sync_recent/i, 'write sync_recent'],
  [/FROM sync_recent/i, 'read sync_recent'],
  [/sync_errors/i, 'sync_errors'],
  [/sync_conflicts/i, 'sync_conflicts'],
  [/sync_state/i, 'sync_state'],
  [/pg_stat_activity|SELECT now\(\)/i, 'read horizon'],
  [/information_schema|pg_catalog|pg_class|pg_attribute|pg_constraint|pg_index/i, 'catalog (registry)'],
];

function kindOf(text) {
  for (const [re, kind] of KINDS) if (re.test(text)) return kind;
  return `other: ${text.replace(/\s+/g, ' ').trim().slice(0, 40)}`;
}

/**
 * Starts recording; stop() restores pg and returns { statements: [{ db, kind, calls, ms, firstMs, lastMs }] sorted by
 * time, busyMs }: busyMs is the wall time during which at least one statement was in flight (statements
 * on the two databases can overlap, so the per-kind times may add up to more than the wall time).
 */
export function startProfile() {
  const proto = pg.Client.prototype;
  const original = proto.query;
  const stats = new Map();
  let inFlight = 0;
  let busySince = 0n;
  let busyNs = 0n;
  proto.query = function profiledQuery(config, values, callback) {
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text !== 'string') return original.apply(this, arguments);
    const key = `${this.database}\u0000${kindOf(text)}`;
    const t0 = process.hrtime.bigint();
    if (inFlight++ === 0) busySince = t0;
    const done = () => {
      const t1 = process.hrtime.bigint();
      if (--inFlight === 0) busyNs += t1 - busySince;
      const s = stats.get(key) ?? { calls: 0, ns: 0n, each: [] };
      s.calls++;
      s.ns += t1 - t0;
      if (s.each.length < 100_000) s.each.push(Number(t1 - t0) / 1e6);
      stats.set(key, s);
    };
    if (typeof values === 'function') return original.call(this, config, (e, r) => (done(), values(e, r)));
    if (typeof callback === 'function') return original.call(this, config, values, (e, r) => (done(), callback(e, r)));
    const p = original.apply(this, arguments);
    if (p && typeof p.then === 'function') p.then(done, done);
    return p;
  };
  return () => {
    proto.query = original;
    const statements = [...stats.entries()]
      .map(([key, s]) => {
        const [db, kind] = key.split('\u0000');
        // mean of the first and of the last tenth of the calls: does a statement slow down as the pass goes on?
        const tenth = Math.max(1, Math.floor(s.each.length / 10));
        const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
        return { db, kind, calls: s.calls, ms: Number(s.ns) / 1e6, firstMs: mean(s.each.slice(0, tenth)), lastMs: mean(s.each.slice(-tenth)) };
      })
      .sort((a, b) => b.ms - a.ms);
    return { statements, busyMs: Number(busyNs) / 1e6 };
  };
}
