-- 005 Phase D attention and coordination: what each agent is focusing on, and the
-- multi-agent sessions (consensus, delegation, auctions, ...) with their participants.

CREATE TABLE IF NOT EXISTS attention_allocations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  task_id UUID REFERENCES agent_tasks (id) ON DELETE SET NULL,
  focus_kind TEXT NOT NULL
    CHECK (focus_kind IN ('task', 'memory', 'message', 'goal', 'environment')),
  -- points into a different table depending on focus_kind, so it cannot carry a foreign key
  focus_ref_id UUID,
  salience FLOAT8 NOT NULL DEFAULT 0.5 CHECK (salience >= 0 AND salience <= 1),
  -- fraction of the agent's capacity; the scheduler keeps the active shares at or below 1
  allocated_share FLOAT8 NOT NULL DEFAULT 0 CHECK (allocated_share >= 0 AND allocated_share <= 1),
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'released', 'preempted')),
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ended_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS attention_allocations_updated_at_id_idx ON attention_allocations (updated_at, id);
CREATE INDEX IF NOT EXISTS attention_allocations_agent_id_status_idx ON attention_allocations (agent_id, status);
CREATE INDEX IF NOT EXISTS attention_allocations_task_id_idx ON attention_allocations (task_id);

CREATE TABLE IF NOT EXISTS coordination_sessions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  coordinator_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  task_id UUID REFERENCES agent_tasks (id) ON DELETE SET NULL,
  coordination_kind TEXT NOT NULL
    CHECK (coordination_kind IN ('consensus', 'delegation', 'auction', 'broadcast', 'pipeline', 'debate')),
  status TEXT NOT NULL DEFAULT 'forming'
    CHECK (status IN ('forming', 'active', 'resolved', 'failed', 'cancelled')),
  goal TEXT,
  quorum INT4 CHECK (quorum >= 1),
  outcome JSONB NOT NULL DEFAULT '{}'::jsonb,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deadline_at TIMESTAMPTZ,
  resolved_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS coordination_sessions_updated_at_id_idx ON coordination_sessions (updated_at, id);
CREATE INDEX IF NOT EXISTS coordination_sessions_coordinator_agent_id_idx ON coordination_sessions (coordinator_agent_id);
CREATE INDEX IF NOT EXISTS coordination_sessions_task_id_idx ON coordination_sessions (task_id);
-- the coordinator loop polls sessions that are still open, nearest deadline first
CREATE INDEX IF NOT EXISTS coordination_sessions_open_idx ON coordination_sessions (status, deadline_at) WHERE deleted_at IS NULL;

-- a (session, agent) pair may repeat: both databases can enrol the same agent before syncing;
-- readers take the most recently updated row per agent
CREATE TABLE IF NOT EXISTS coordination_participants (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  coordination_session_id UUID NOT NULL REFERENCES coordination_sessions (id) ON DELETE CASCADE,
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  participant_role TEXT NOT NULL DEFAULT 'contributor'
    CHECK (participant_role IN ('coordinator', 'contributor', 'reviewer', 'observer')),
  status TEXT NOT NULL DEFAULT 'invited'
    CHECK (status IN ('invited', 'joined', 'left', 'declined', 'removed')),
  contribution JSONB NOT NULL DEFAULT '{}'::jsonb,
  vote_weight FLOAT8 NOT NULL DEFAULT 1 CHECK (vote_weight >= 0),
  joined_at TIMESTAMPTZ,
  left_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS coordination_participants_updated_at_id_idx ON coordination_participants (updated_at, id);
CREATE INDEX IF NOT EXISTS coordination_participants_session_id_idx ON coordination_participants (coordination_session_id);
CREATE INDEX IF NOT EXISTS coordination_participants_agent_id_idx ON coordination_participants (agent_id, status);
