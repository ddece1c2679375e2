export { readSyncState, readConflicts, readConflict, diffVersions, type SyncStateRow, type ConflictRow } from './sync-state.js';
export { tableLagSeconds } from './lag.js';
export { migrationStatus, type MigrationStatus } from './migrations.js';
