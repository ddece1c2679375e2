/** The two database roles cesar connects. */
export type Role = 'local' | 'cloud';
export const ROLES: readonly Role[] = ['local', 'cloud'];

/** Deployment environment; decides which database serves reads. */
export type Environment = 'development' | 'staging' | 'production';
export const ENVIRONMENTS: readonly Environment[] = ['development', 'staging', 'production'];

/** The validated configuration every command starts from. */
export interface Config {
  environment: Environment;
  /** Database URLs per role; absent when not configured. In embedded mode both are filled at start. */
  urls: Partial<Record<Role, string>>;
  /** True when neither URL is configured in development: run on two embedded demo databases. */
  embedded: boolean;
  api: { host: string; port: number; token: string | undefined; corsOrigins: string[] };
  syncIntervalMs: number;
  dataDir: string;
  /** Connection and statement timeouts for the database pools. */
  timeouts: { connectMs: number; statementMs: number };
  /** Tables that sync within about a second of a local change. */
  criticalTables: string[];
  /** Sync engine settings. */
  sync: {
    batchSize: number;
    overlapMs: number;
    deleteScanIntervalMs: number;
    leaseTtlMs: number;
    defaultStrategy: 'lww' | 'local-wins' | 'cloud-wins';
    strategies: Record<string, 'lww' | 'local-wins' | 'cloud-wins'>;
  };
  /** Which files were loaded, for the start-up summary. */
  loadedFiles: string[];
}
