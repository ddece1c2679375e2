import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { splitStatements } from '../../src/migrations/split.js';
import { REPO } from './databases.js';

/** Applies the project's migrations to a database, statement by statement (as the runner does, without bookkeeping). */
export async function applySchema(url: string, files?: string[]): Promise<void> {
  const dir = path.join(REPO, 'migrations');
  const names = files ?? fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of names) {
      for (const stmt of await splitStatements(fs.readFileSync(path.join(dir, name), 'utf8'), name)) await client.query(stmt.text);
    }
  } finally {
    await client.end();
  }
}
