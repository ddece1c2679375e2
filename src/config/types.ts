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
  api: {
    host: string;
    port: number;
    /** CESAR_API_TOKEN: every endpoint (reads, and the POST endpoints that start work). */
    token: string | undefined;
    /** CESAR_API_READ_TOKEN: reads, /metrics and /ws/events only, never the POST endpoints. */
    readToken: string | undefined;
    /** CESAR_METRICS_TOKEN: /metrics only (a Prometheus scrape configuration holds nothing more). */
    metricsToken: string | undefined;
    corsOrigins: string[];
    /** CESAR_API_HOSTNAMES: names besides loopback and the bound address that the Host header may carry. */
    hostnames: string[];
  };
  syncIntervalMs: number;
  dataDir: string;
  /** CESAR_LOG_FILE, absolute: where headless, sync, migrate and the dashboard append JSON log lines (undefined: their defaults). */
  logFile: string | undefined;
  /** Connection and statement timeouts for the database pools. */
  timeouts: { connectMs: number; statementMs: number };
  /** Tables that sync within about a second of a local change. */
  criticalTables: string[];
  /** How often the active syncer polls the critical tables (CESAR_CRITICAL_POLL). */
  criticalPollMs: number;
  /** Sync engine settings. */
  sync: {
    batchSize: number;
    overlapMs: number;
    deleteScanIntervalMs: number;
    leaseTtlMs: number;
    defaultStrategy: 'lww' | 'local-wins' | 'cloud-wins';
    strategies: Record<string, 'lww' | 'local-wins' | 'cloud-wins'>;
  };
  /** What the active syncer purges, and how often it looks (null: that purge is off). */
  retention: {
    /** Tombstones (deleted_at set) older than this are hard-deleted on both sides (CESAR_TOMBSTONE_RETENTION). */
    tombstoneMs: number | null;
    /** sync_conflicts rows older than this are deleted (CESAR_CONFLICT_RETENTION). */
    conflictMs: number | null;
    /** At most this many sync_conflicts rows are kept, the oldest go first (CESAR_CONFLICT_MAX_ROWS). */
    conflictMaxRows: number | null;
    /** How often the scheduler runs the purge (CESAR_RETENTION_INTERVAL). */
    intervalMs: number;
  };
  /** Which files were loaded, for the start-up summary. */
  loadedFiles: string[];
}
