import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabases, sql, type TestDatabases } from '../helpers/databases.js';
import { applySchema } from '../helpers/schema.js';

// Disaster recovery: a new, empty local database is rebuilt from the cloud.
let dbs: TestDatabases;
beforeAll(async () => {
  dbs = await createTestDatabases();
  await applySchema(dbs.cloudUrl);
  // parents and children, so that the copy must go in dependency order (agents -> sessions -> memories)
  await sql(dbs.cloudUrl, "INSERT INTO agents (name, agent_type) SELECT 'a' || g, 'planner' FROM generate_series(1, 300) g");
  await sql(dbs.cloudUrl, "INSERT INTO agent_sessions (agent_id) SELECT id FROM agents");
  await sql(dbs.cloudUrl, "INSERT INTO memories (agent_id, memory_kind, content, importance) SELECT id, 'semantic', 'fact about ' || name, 0.25 FROM agents");
}, 120_000);
afterAll(async () => {
  await dbs?.drop();
});

describe('cesar restore', () => {
  const vars = () => ({ LOCAL_DB_URL: dbs.localUrl, COCKROACH_DB_URL: dbs.cloudUrl });

  it('needs --yes (exit 2) and touches nothing without it', async () => {
    const r = await runCli(['restore'], vars());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(await sql(dbs.localUrl, "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);
  });

  it('rebuilds an empty local database: migrations, full copy in dependency order, verified', async () => {
    const r = await runCli(['restore', '--yes', '--json'], vars(), { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ restored: true, migrationsApplied: 11, rowsCopied: 900 });
    for (const t of ['agents', 'agent_sessions', 'memories']) {
      expect((await sql<{ n: string }>(dbs.localUrl, `SELECT count(*) AS n FROM ${t}`))[0]!.n).toBe('300');
    }
    const verify = await runCli(['verify'], vars());
    expect(verify.code).toBe(0);
  }, 150_000);

  it('refuses a local database that has rows (exit 1), naming the tables', async () => {
    const r = await runCli(['restore', '--yes'], vars());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not empty \(rows in agents, .*memories/);
  });
});
