// The dashboard's public surface. Importing it loads ink and react: commands import it lazily.
export { runDashboard, type DashboardOptions } from './run.js';
