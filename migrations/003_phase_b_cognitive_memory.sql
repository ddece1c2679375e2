-- 003 Phase B cognitive memory: per-agent memories, the associations between them, access
-- logs that drive reinforcement and decay, and consolidation runs.

CREATE TABLE IF NOT EXISTS memories (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  session_id UUID REFERENCES agent_sessions (id) ON DELETE SET NULL,
  source_task_id UUID REFERENCES agent_tasks (id) ON DELETE SET NULL,
  memory_kind TEXT NOT NULL
    CHECK (memory_kind IN ('episodic', 'semantic', 'procedural', 'working', 'reflection')),
  content TEXT NOT NULL,
  summary TEXT,
  importance FLOAT8 NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
  -- decays over time and is restored by recall and replay
  strength FLOAT8 NOT NULL DEFAULT 1 CHECK (strength >= 0 AND strength <= 1),
  access_count INT4 NOT NULL DEFAULT 0 CHECK (access_count >= 0),
  consolidation_status TEXT NOT NULL DEFAULT 'raw'
    CHECK (consolidation_status IN ('raw', 'consolidating', 'consolidated', 'archived')),
  -- embeddings live in an external store: no embedding column type is portable to every
  -- CockroachDB version we support, so only the reference is kept here
  embedding_ref TEXT,
  tags TEXT[] NOT NULL DEFAULT '{}'::text[],
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  last_accessed_at TIMESTAMPTZ,
  expires_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS memories_updated_at_id_idx ON memories (updated_at, id);
CREATE INDEX IF NOT EXISTS memories_agent_id_kind_idx ON memories (agent_id, memory_kind) WHERE deleted_at IS NULL;
-- recall ranks an agent's live memories by importance
CREATE INDEX IF NOT EXISTS memories_agent_id_importance_idx ON memories (agent_id, importance) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS memories_session_id_idx ON memories (session_id);
CREATE INDEX IF NOT EXISTS memories_source_task_id_idx ON memories (source_task_id);
-- the expiry sweep only cares about memories that can expire
CREATE INDEX IF NOT EXISTS memories_expires_at_idx ON memories (expires_at) WHERE expires_at IS NOT NULL;

-- links between memories live in their own table: a memory referencing another memory
-- would be a self-referencing key, which the sync merge order cannot handle
CREATE TABLE IF NOT EXISTS memory_associations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  source_memory_id UUID NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  target_memory_id UUID NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  association_kind TEXT NOT NULL
    CHECK (association_kind IN ('causal', 'temporal', 'semantic', 'contradiction', 'elaboration')),
  strength FLOAT8 NOT NULL DEFAULT 0.5 CHECK (strength >= 0 AND strength <= 1),
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ,
  CHECK (source_memory_id <> target_memory_id)
);
CREATE INDEX IF NOT EXISTS memory_associations_updated_at_id_idx ON memory_associations (updated_at, id);
CREATE INDEX IF NOT EXISTS memory_associations_source_memory_id_idx ON memory_associations (source_memory_id);
CREATE INDEX IF NOT EXISTS memory_associations_target_memory_id_idx ON memory_associations (target_memory_id);

CREATE TABLE IF NOT EXISTS memory_access_logs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  memory_id UUID NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  -- the reader may be another agent; its history survives that agent's removal
  agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  access_kind TEXT NOT NULL
    CHECK (access_kind IN ('read', 'recall', 'update', 'reinforce', 'decay')),
  relevance_score FLOAT8 CHECK (relevance_score >= 0 AND relevance_score <= 1),
  query_text TEXT,
  accessed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS memory_access_logs_updated_at_id_idx ON memory_access_logs (updated_at, id);
CREATE INDEX IF NOT EXISTS memory_access_logs_memory_id_accessed_at_idx ON memory_access_logs (memory_id, accessed_at);
CREATE INDEX IF NOT EXISTS memory_access_logs_agent_id_idx ON memory_access_logs (agent_id);

CREATE TABLE IF NOT EXISTS memory_consolidations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  -- the summary memory a run produced; the run record stays if that memory is pruned later
  output_memory_id UUID REFERENCES memories (id) ON DELETE SET NULL,
  strategy TEXT NOT NULL
    CHECK (strategy IN ('summarize', 'merge', 'prune', 'reinforce')),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  input_memory_count INT4 NOT NULL DEFAULT 0 CHECK (input_memory_count >= 0),
  stats JSONB NOT NULL DEFAULT '{}'::jsonb,
  error_message TEXT,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS memory_consolidations_updated_at_id_idx ON memory_consolidations (updated_at, id);
CREATE INDEX IF NOT EXISTS memory_consolidations_agent_id_status_idx ON memory_consolidations (agent_id, status);
CREATE INDEX IF NOT EXISTS memory_consolidations_output_memory_id_idx ON memory_consolidations (output_memory_id);
