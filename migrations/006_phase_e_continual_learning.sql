-- 006 Phase E continual learning: episodes of experience, the feedback scored against them,
-- and the updates (prompt, policy, skill) proposed and applied as a result.

CREATE TABLE IF NOT EXISTS learning_episodes (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  task_id UUID REFERENCES agent_tasks (id) ON DELETE SET NULL,
  episode_kind TEXT NOT NULL
    CHECK (episode_kind IN ('task', 'simulation', 'reflection', 'evaluation')),
  status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'closed', 'discarded')),
  outcome TEXT NOT NULL DEFAULT 'unknown'
    CHECK (outcome IN ('success', 'failure', 'partial', 'unknown')),
  -- unbounded on purpose: reward scales differ between environments
  reward FLOAT8,
  -- ordered steps (observation, action, result), kept as one document because it is read whole
  trajectory JSONB NOT NULL DEFAULT '[]'::jsonb,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ended_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS learning_episodes_updated_at_id_idx ON learning_episodes (updated_at, id);
CREATE INDEX IF NOT EXISTS learning_episodes_agent_id_started_at_idx ON learning_episodes (agent_id, started_at);
CREATE INDEX IF NOT EXISTS learning_episodes_task_id_idx ON learning_episodes (task_id);

CREATE TABLE IF NOT EXISTS feedback_signals (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  episode_id UUID NOT NULL REFERENCES learning_episodes (id) ON DELETE CASCADE,
  -- NULL for human or environment feedback, or once the critic agent is gone
  source_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  signal_kind TEXT NOT NULL
    CHECK (signal_kind IN ('human', 'critic', 'self', 'environment', 'metric')),
  score FLOAT8 NOT NULL CHECK (score >= -1 AND score <= 1),
  feedback_text TEXT,
  payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS feedback_signals_updated_at_id_idx ON feedback_signals (updated_at, id);
CREATE INDEX IF NOT EXISTS feedback_signals_episode_id_idx ON feedback_signals (episode_id);
CREATE INDEX IF NOT EXISTS feedback_signals_source_agent_id_idx ON feedback_signals (source_agent_id);

CREATE TABLE IF NOT EXISTS learning_updates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  episode_id UUID REFERENCES learning_episodes (id) ON DELETE SET NULL,
  update_kind TEXT NOT NULL
    CHECK (update_kind IN ('prompt', 'policy', 'skill', 'parameter', 'memory_rule')),
  status TEXT NOT NULL DEFAULT 'proposed'
    CHECK (status IN ('proposed', 'evaluating', 'applied', 'rejected', 'rolled_back')),
  -- enough to apply the change and to undo it
  changes JSONB NOT NULL DEFAULT '{}'::jsonb,
  score_before FLOAT8,
  score_after FLOAT8,
  -- agents.version the update produced, so a rollback knows where to return to
  resulting_agent_version INT4 CHECK (resulting_agent_version >= 1),
  applied_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS learning_updates_updated_at_id_idx ON learning_updates (updated_at, id);
CREATE INDEX IF NOT EXISTS learning_updates_agent_id_status_idx ON learning_updates (agent_id, status);
CREATE INDEX IF NOT EXISTS learning_updates_episode_id_idx ON learning_updates (episode_id);
