import { isEmbeddedVersion } from './embedded.js';

/** What kind of server a role talks to. */
export type Flavor = 'postgres' | 'cockroach' | 'embedded';

/** Server identity read from `SELECT version()`. */
export interface ServerInfo {
  flavor: Flavor;
  /** Short version, e.g. "15.20" or "v24.3.0". */
  version: string;
  /** The full version() string. */
  raw: string;
}

/** Classifies a version() string: CockroachDB says so; PGlite is recognised; anything else is PostgreSQL. */
export function detectFlavor(raw: string): ServerInfo {
  if (/CockroachDB/i.test(raw)) {
    return { flavor: 'cockroach', version: /v\d+\.\d+(?:\.\d+)?[\w.-]*/.exec(raw)?.[0] ?? 'unknown', raw };
  }
  const version = /PostgreSQL (\d+(?:\.\d+)*)/.exec(raw)?.[1] ?? 'unknown';
  return { flavor: isEmbeddedVersion(raw) ? 'embedded' : 'postgres', version, raw };
}

/** Human label: "PostgreSQL 15.20", "CockroachDB v24.3.0", "embedded PostgreSQL 17.4 (PGlite)". */
export function flavorLabel(info: ServerInfo): string {
  switch (info.flavor) {
    case 'cockroach':
      return `CockroachDB ${info.version}`;
    case 'embedded':
      return `embedded PostgreSQL ${info.version} (PGlite)`;
    case 'postgres':
      return `PostgreSQL ${info.version}`;
  }
}
