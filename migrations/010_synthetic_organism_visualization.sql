-- 010 Synthetic organism visualisation: point-in-time snapshots of the whole agent system
-- drawn as an organism, with each agent's state and the flows between agents at that moment.
-- Snapshots copy what they show instead of pointing at live rows, so replaying one draws
-- the system as it was, not as it is now.

CREATE TABLE IF NOT EXISTS organism_snapshots (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  requested_by_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  snapshot_kind TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (snapshot_kind IN ('scheduled', 'manual', 'event')),
  label TEXT,
  agent_count INT4 NOT NULL DEFAULT 0 CHECK (agent_count >= 0),
  active_agent_count INT4 NOT NULL DEFAULT 0 CHECK (active_agent_count >= 0),
  link_count INT4 NOT NULL DEFAULT 0 CHECK (link_count >= 0),
  health_score FLOAT8 CHECK (health_score >= 0 AND health_score <= 1),
  -- renderer-specific layout and aggregate metrics; their shape follows the renderer version
  layout JSONB NOT NULL DEFAULT '{}'::jsonb,
  metrics JSONB NOT NULL DEFAULT '{}'::jsonb,
  captured_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS organism_snapshots_updated_at_id_idx ON organism_snapshots (updated_at, id);
CREATE INDEX IF NOT EXISTS organism_snapshots_requested_by_agent_id_idx ON organism_snapshots (requested_by_agent_id);
-- the timeline scrubber walks snapshots by capture time
CREATE INDEX IF NOT EXISTS organism_snapshots_captured_at_idx ON organism_snapshots (captured_at) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS organism_agent_states (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  snapshot_id UUID NOT NULL REFERENCES organism_snapshots (id) ON DELETE CASCADE,
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  -- copied from agents.status at capture time
  agent_status TEXT NOT NULL
    CHECK (agent_status IN ('idle', 'active', 'busy', 'paused', 'error', 'offline')),
  activity_level FLOAT8 NOT NULL DEFAULT 0 CHECK (activity_level >= 0 AND activity_level <= 1),
  x_coord FLOAT8,
  y_coord FLOAT8,
  z_coord FLOAT8,
  memory_count INT4 NOT NULL DEFAULT 0 CHECK (memory_count >= 0),
  open_task_count INT4 NOT NULL DEFAULT 0 CHECK (open_task_count >= 0),
  visual_attributes JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS organism_agent_states_updated_at_id_idx ON organism_agent_states (updated_at, id);
CREATE INDEX IF NOT EXISTS organism_agent_states_snapshot_id_idx ON organism_agent_states (snapshot_id);
-- one agent's trajectory across snapshots
CREATE INDEX IF NOT EXISTS organism_agent_states_agent_id_idx ON organism_agent_states (agent_id, created_at);

CREATE TABLE IF NOT EXISTS organism_links (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  snapshot_id UUID NOT NULL REFERENCES organism_snapshots (id) ON DELETE CASCADE,
  source_agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  target_agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  flow_kind TEXT NOT NULL
    CHECK (flow_kind IN ('messages', 'delegation', 'coordination', 'knowledge', 'routing')),
  intensity FLOAT8 NOT NULL DEFAULT 0 CHECK (intensity >= 0),
  event_count INT4 NOT NULL DEFAULT 0 CHECK (event_count >= 0),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS organism_links_updated_at_id_idx ON organism_links (updated_at, id);
CREATE INDEX IF NOT EXISTS organism_links_snapshot_id_idx ON organism_links (snapshot_id);
CREATE INDEX IF NOT EXISTS organism_links_source_agent_id_idx ON organism_links (source_agent_id);
CREATE INDEX IF NOT EXISTS organism_links_target_agent_id_idx ON organism_links (target_agent_id);
