-- 007 Local LLM integration: the catalogue of models (mostly served on the local machine)
-- and every invocation an agent makes, with tokens, latency and cost.

CREATE TABLE IF NOT EXISTS llm_models (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  provider TEXT NOT NULL
    CHECK (provider IN ('ollama', 'llama_cpp', 'vllm', 'lm_studio', 'openai_compatible', 'other')),
  model_family TEXT,
  endpoint_url TEXT,
  context_window INT4 CHECK (context_window > 0),
  -- INT8: parameter counts pass 2^31
  parameter_count INT8 CHECK (parameter_count > 0),
  quantization TEXT,
  is_local BOOLEAN NOT NULL DEFAULT true,
  status TEXT NOT NULL DEFAULT 'available'
    CHECK (status IN ('available', 'loading', 'unavailable', 'deprecated')),
  default_params JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- NUMERIC, not FLOAT8: costs are summed into reports and must not drift
  cost_per_1k_input_tokens NUMERIC(12, 6) NOT NULL DEFAULT 0 CHECK (cost_per_1k_input_tokens >= 0),
  cost_per_1k_output_tokens NUMERIC(12, 6) NOT NULL DEFAULT 0 CHECK (cost_per_1k_output_tokens >= 0),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS llm_models_updated_at_id_idx ON llm_models (updated_at, id);
CREATE INDEX IF NOT EXISTS llm_models_provider_name_idx ON llm_models (provider, name);
CREATE INDEX IF NOT EXISTS llm_models_status_idx ON llm_models (status) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS llm_invocations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  model_id UUID NOT NULL REFERENCES llm_models (id) ON DELETE CASCADE,
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  session_id UUID REFERENCES agent_sessions (id) ON DELETE SET NULL,
  task_id UUID REFERENCES agent_tasks (id) ON DELETE SET NULL,
  invocation_kind TEXT NOT NULL DEFAULT 'chat'
    CHECK (invocation_kind IN ('completion', 'chat', 'embedding', 'tool_call')),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'timeout', 'cancelled')),
  prompt_tokens INT4 CHECK (prompt_tokens >= 0),
  completion_tokens INT4 CHECK (completion_tokens >= 0),
  latency_ms INT4 CHECK (latency_ms >= 0),
  total_cost NUMERIC(12, 6) CHECK (total_cost >= 0),
  request JSONB NOT NULL DEFAULT '{}'::jsonb,
  response JSONB NOT NULL DEFAULT '{}'::jsonb,
  error_message TEXT,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  completed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS llm_invocations_updated_at_id_idx ON llm_invocations (updated_at, id);
-- usage and cost reports group by model or by agent over a time range
CREATE INDEX IF NOT EXISTS llm_invocations_model_id_started_at_idx ON llm_invocations (model_id, started_at);
CREATE INDEX IF NOT EXISTS llm_invocations_agent_id_started_at_idx ON llm_invocations (agent_id, started_at);
CREATE INDEX IF NOT EXISTS llm_invocations_session_id_idx ON llm_invocations (session_id);
CREATE INDEX IF NOT EXISTS llm_invocations_task_id_idx ON llm_invocations (task_id);
-- in-flight calls are few; the watchdog finds hung ones without scanning history
CREATE INDEX IF NOT EXISTS llm_invocations_in_flight_idx ON llm_invocations (started_at) WHERE status IN ('pending', 'running');
