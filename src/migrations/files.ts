import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CesarError, usageError } from '../errors.js';

/** One migration file of the folder. */
export interface MigrationFile {
  /** File name without `.sql`: the key in schema_migrations. */
  name: string;
  /** Absolute (or as given) path of the file. */
  path: string;
  /** sha256 hex of the content with CRLF normalised to LF. */
  checksum: string;
  sql: string;
}

/**
 * The `migrations/` folder shipped with the package. Two levels up from this module is the
 * package root both from dist/migrations/files.js and from src/migrations/files.ts (vitest).
 */
export function defaultMigrationsDir(): string {
  return fileURLToPath(new URL('../../migrations', import.meta.url));
}

/** sha256 hex of a file's text, line endings normalised, so a Windows checkout keeps the checksum. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
}

/** Compares names by code unit, the order migrations run in (no locale: `_` and digits must not move). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads every `*.sql` file of `dir`, sorted by name. */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw usageError('MIGRATIONS_DIR_NOT_FOUND', `migrations directory not found: ${dir}`);
    throw new CesarError('MIGRATIONS_DIR_UNREADABLE', `cannot read migrations directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const names = entries
    .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.sql'))
    .map((e) => e.name)
    .sort(compareNames);
  const files: MigrationFile[] = [];
  for (const fileName of names) {
    const path = join(dir, fileName);
    const sql = await readFile(path, 'utf8');
    files.push({ name: fileName.slice(0, -'.sql'.length), path, checksum: checksumOf(sql), sql });
  }
  return files;
}
