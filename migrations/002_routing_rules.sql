-- 002 Agent routing: the rules that send a task to an agent, and the audit trail of each
-- routing decision (which rule fired, which agent was chosen, and why).

CREATE TABLE IF NOT EXISTS routing_rules (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  description TEXT,
  -- a rule without a target cannot route anything, so it goes with its agent
  target_agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  fallback_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  match_kind TEXT NOT NULL
    CHECK (match_kind IN ('task_kind', 'capability', 'keyword', 'pattern', 'default')),
  -- shape depends on match_kind (list of keywords, capability object, regex, ...)
  match_criteria JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- lower runs first; rules are evaluated in priority order and the first match wins
  priority INT4 NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 1000),
  weight FLOAT8 NOT NULL DEFAULT 1 CHECK (weight >= 0),
  is_enabled BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS routing_rules_updated_at_id_idx ON routing_rules (updated_at, id);
CREATE INDEX IF NOT EXISTS routing_rules_target_agent_id_idx ON routing_rules (target_agent_id);
CREATE INDEX IF NOT EXISTS routing_rules_fallback_agent_id_idx ON routing_rules (fallback_agent_id);
-- the router loads only live, enabled rules in evaluation order
CREATE INDEX IF NOT EXISTS routing_rules_enabled_priority_idx ON routing_rules (priority) WHERE is_enabled AND deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS routing_decisions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  task_id UUID NOT NULL REFERENCES agent_tasks (id) ON DELETE CASCADE,
  -- kept when the rule or agent is removed: the decision history stays readable
  rule_id UUID REFERENCES routing_rules (id) ON DELETE SET NULL,
  selected_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  outcome TEXT NOT NULL
    CHECK (outcome IN ('routed', 'fallback', 'rejected', 'no_match')),
  confidence FLOAT8 CHECK (confidence >= 0 AND confidence <= 1),
  reason TEXT,
  candidates JSONB NOT NULL DEFAULT '[]'::jsonb,
  latency_ms INT4 CHECK (latency_ms >= 0),
  decided_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS routing_decisions_updated_at_id_idx ON routing_decisions (updated_at, id);
CREATE INDEX IF NOT EXISTS routing_decisions_task_id_idx ON routing_decisions (task_id);
CREATE INDEX IF NOT EXISTS routing_decisions_rule_id_idx ON routing_decisions (rule_id);
CREATE INDEX IF NOT EXISTS routing_decisions_selected_agent_id_idx ON routing_decisions (selected_agent_id, decided_at);
