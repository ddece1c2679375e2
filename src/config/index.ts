export { loadConfig, loadEnvFiles, isLoopbackHost, ENV_FILES } from './load.js';
export { chooseReadSource, type ReadSource } from './priority.js';
export { redact, redactError, registerSecret, registerUrlSecrets, describeUrl } from './redact.js';
export { parseDuration, formatDuration, DURATION_FORM } from './duration.js';
export { ROLES, ENVIRONMENTS, type Role, type Environment, type Config } from './types.js';
