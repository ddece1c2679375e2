-- 001 Phase A foundation: the agent registry and the per-agent records the later phases hang
-- off (sessions, tasks, metrics).
-- Every table follows the sync contract: UUID id, created_at/updated_at/deleted_at and an
-- (updated_at, id) index. Rows are created on the local PostgreSQL and on CockroachDB
-- independently and merged by id, so the sync engine reads changes in (updated_at, id) order
-- and carries deletions as soft-delete tombstones instead of losing them.

CREATE TABLE IF NOT EXISTS agents (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  agent_type TEXT NOT NULL
    CHECK (agent_type IN ('orchestrator', 'worker', 'researcher', 'critic', 'planner', 'tool')),
  status TEXT NOT NULL DEFAULT 'idle'
    CHECK (status IN ('idle', 'active', 'busy', 'paused', 'error', 'offline')),
  description TEXT,
  -- free-form on purpose: each agent kind advertises different capability shapes
  capabilities JSONB NOT NULL DEFAULT '{}'::jsonb,
  config JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- bumped by the application on each config change, so a stale write from the other side can be spotted
  version INT4 NOT NULL DEFAULT 1 CHECK (version >= 1),
  max_concurrent_tasks INT4 NOT NULL DEFAULT 1 CHECK (max_concurrent_tasks >= 1),
  last_heartbeat_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS agents_updated_at_id_idx ON agents (updated_at, id);
CREATE INDEX IF NOT EXISTS agents_status_idx ON agents (status);
-- names may repeat: the same name can be registered on both databases before they first sync
CREATE INDEX IF NOT EXISTS agents_name_idx ON agents (name);
CREATE INDEX IF NOT EXISTS agents_agent_type_status_idx ON agents (agent_type, status) WHERE deleted_at IS NULL;
-- the router looks for live agents with capabilities @> '{...}'
CREATE INDEX IF NOT EXISTS agents_capabilities_idx ON agents USING GIN (capabilities);
-- the liveness sweep scans for heartbeats older than a cutoff
CREATE INDEX IF NOT EXISTS agents_last_heartbeat_at_idx ON agents (last_heartbeat_at) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS agent_sessions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'ended', 'expired', 'crashed')),
  host_name TEXT,
  process_id INT4,
  context JSONB NOT NULL DEFAULT '{}'::jsonb,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ended_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ,
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX IF NOT EXISTS agent_sessions_updated_at_id_idx ON agent_sessions (updated_at, id);
CREATE INDEX IF NOT EXISTS agent_sessions_agent_id_started_at_idx ON agent_sessions (agent_id, started_at);
-- open sessions are few but looked up constantly (heartbeat, crash detection)
CREATE INDEX IF NOT EXISTS agent_sessions_active_idx ON agent_sessions (agent_id) WHERE status = 'active' AND deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS agent_tasks (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  -- optional: a task is queued before it is assigned and outlives the agent that ran it
  agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  session_id UUID REFERENCES agent_sessions (id) ON DELETE SET NULL,
  title TEXT NOT NULL,
  task_kind TEXT NOT NULL DEFAULT 'other'
    CHECK (task_kind IN ('analysis', 'generation', 'research', 'review', 'planning', 'tool_call', 'other')),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'queued', 'running', 'blocked', 'succeeded', 'failed', 'cancelled')),
  priority INT4 NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
  input_payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  output_payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  error_message TEXT,
  attempts INT4 NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts INT4 NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  due_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS agent_tasks_updated_at_id_idx ON agent_tasks (updated_at, id);
CREATE INDEX IF NOT EXISTS agent_tasks_agent_id_status_idx ON agent_tasks (agent_id, status);
CREATE INDEX IF NOT EXISTS agent_tasks_session_id_idx ON agent_tasks (session_id);
-- the dispatcher pulls the next live task by status, then priority
CREATE INDEX IF NOT EXISTS agent_tasks_queue_idx ON agent_tasks (status, priority, created_at) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS agent_metrics (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  session_id UUID REFERENCES agent_sessions (id) ON DELETE SET NULL,
  metric_name TEXT NOT NULL,
  metric_kind TEXT NOT NULL DEFAULT 'gauge'
    CHECK (metric_kind IN ('counter', 'gauge', 'histogram', 'timing')),
  metric_value FLOAT8 NOT NULL,
  unit TEXT,
  labels JSONB NOT NULL DEFAULT '{}'::jsonb,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS agent_metrics_updated_at_id_idx ON agent_metrics (updated_at, id);
-- dashboards chart one metric of one agent over time
CREATE INDEX IF NOT EXISTS agent_metrics_agent_id_metric_name_idx ON agent_metrics (agent_id, metric_name, recorded_at);
CREATE INDEX IF NOT EXISTS agent_metrics_session_id_idx ON agent_metrics (session_id);
