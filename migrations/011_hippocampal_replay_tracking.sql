-- 011 Hippocampal replay tracking: offline replay sessions in which an agent re-runs stored
-- memories (forward, reverse or prioritised) to strengthen, link or prune them, and the
-- per-memory events of each session.

CREATE TABLE IF NOT EXISTS replay_sessions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  -- replay is often run as part of a consolidation; the session record outlives that run
  consolidation_id UUID REFERENCES memory_consolidations (id) ON DELETE SET NULL,
  initiated_by TEXT NOT NULL
    CHECK (initiated_by IN ('idle', 'scheduled', 'post_task', 'sleep_cycle', 'manual')),
  replay_mode TEXT NOT NULL DEFAULT 'prioritized'
    CHECK (replay_mode IN ('forward', 'reverse', 'prioritized', 'random')),
  status TEXT NOT NULL DEFAULT 'scheduled'
    CHECK (status IN ('scheduled', 'running', 'completed', 'aborted', 'failed')),
  memories_replayed INT4 NOT NULL DEFAULT 0 CHECK (memories_replayed >= 0),
  -- replay budget the scheduler granted, so an aborted session can be compared to its plan
  budget_ms INT4 CHECK (budget_ms > 0),
  stats JSONB NOT NULL DEFAULT '{}'::jsonb,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS replay_sessions_updated_at_id_idx ON replay_sessions (updated_at, id);
CREATE INDEX IF NOT EXISTS replay_sessions_agent_id_status_idx ON replay_sessions (agent_id, status);
CREATE INDEX IF NOT EXISTS replay_sessions_consolidation_id_idx ON replay_sessions (consolidation_id);

CREATE TABLE IF NOT EXISTS replay_events (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  replay_session_id UUID NOT NULL REFERENCES replay_sessions (id) ON DELETE CASCADE,
  memory_id UUID NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  episode_id UUID REFERENCES learning_episodes (id) ON DELETE SET NULL,
  -- order within the session; a memory can appear more than once, since replay revisits it
  sequence_no INT4 NOT NULL CHECK (sequence_no >= 0),
  replay_effect TEXT NOT NULL DEFAULT 'unchanged'
    CHECK (replay_effect IN ('strengthened', 'weakened', 'unchanged', 'linked', 'pruned')),
  replay_priority FLOAT8 CHECK (replay_priority >= 0),
  -- surprise signal that drove prioritised replay; signed, so unbounded
  prediction_error FLOAT8,
  strength_before FLOAT8 CHECK (strength_before >= 0 AND strength_before <= 1),
  strength_after FLOAT8 CHECK (strength_after >= 0 AND strength_after <= 1),
  details JSONB NOT NULL DEFAULT '{}'::jsonb,
  replayed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS replay_events_updated_at_id_idx ON replay_events (updated_at, id);
CREATE INDEX IF NOT EXISTS replay_events_session_sequence_idx ON replay_events (replay_session_id, sequence_no);
-- how often, and with what effect, a memory has been replayed
CREATE INDEX IF NOT EXISTS replay_events_memory_id_idx ON replay_events (memory_id, replayed_at);
CREATE INDEX IF NOT EXISTS replay_events_episode_id_idx ON replay_events (episode_id);
