-- 008 Agent-to-agent (A2A) protocol and LLM collaboration: conversations between agents,
-- the messages each sender addresses to a recipient, and multi-model collaborations
-- (review, ensemble, debate) run inside a conversation.

CREATE TABLE IF NOT EXISTS a2a_conversations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  initiator_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  task_id UUID REFERENCES agent_tasks (id) ON DELETE SET NULL,
  coordination_session_id UUID REFERENCES coordination_sessions (id) ON DELETE SET NULL,
  subject TEXT,
  status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'closed', 'archived')),
  -- peers may speak different protocol revisions; the conversation pins one
  protocol_version TEXT NOT NULL DEFAULT '1.0',
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  last_message_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS a2a_conversations_updated_at_id_idx ON a2a_conversations (updated_at, id);
CREATE INDEX IF NOT EXISTS a2a_conversations_initiator_agent_id_idx ON a2a_conversations (initiator_agent_id);
CREATE INDEX IF NOT EXISTS a2a_conversations_task_id_idx ON a2a_conversations (task_id);
CREATE INDEX IF NOT EXISTS a2a_conversations_coordination_session_id_idx ON a2a_conversations (coordination_session_id);
CREATE INDEX IF NOT EXISTS a2a_conversations_open_idx ON a2a_conversations (last_message_at) WHERE status = 'open' AND deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS a2a_messages (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES a2a_conversations (id) ON DELETE CASCADE,
  sender_agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  recipient_agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  -- set when an LLM call produced the message; the message stays if that log is pruned
  invocation_id UUID REFERENCES llm_invocations (id) ON DELETE SET NULL,
  -- deliberately no foreign key: a reference back into a2a_messages would make the table
  -- depend on itself, and the reply may sync before the message it answers
  in_reply_to_message_id UUID,
  message_kind TEXT NOT NULL
    CHECK (message_kind IN ('request', 'response', 'inform', 'query', 'proposal', 'accept', 'reject', 'error', 'heartbeat')),
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed', 'expired')),
  priority INT4 NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
  content TEXT,
  payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  sent_at TIMESTAMPTZ,
  delivered_at TIMESTAMPTZ,
  read_at TIMESTAMPTZ,
  expires_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS a2a_messages_updated_at_id_idx ON a2a_messages (updated_at, id);
CREATE INDEX IF NOT EXISTS a2a_messages_conversation_id_created_at_idx ON a2a_messages (conversation_id, created_at);
CREATE INDEX IF NOT EXISTS a2a_messages_sender_agent_id_idx ON a2a_messages (sender_agent_id);
-- an agent's inbox: its undelivered or unread messages, most urgent first
CREATE INDEX IF NOT EXISTS a2a_messages_recipient_inbox_idx ON a2a_messages (recipient_agent_id, status, priority);
CREATE INDEX IF NOT EXISTS a2a_messages_invocation_id_idx ON a2a_messages (invocation_id);
CREATE INDEX IF NOT EXISTS a2a_messages_in_reply_to_message_id_idx ON a2a_messages (in_reply_to_message_id) WHERE in_reply_to_message_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS llm_collaborations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id UUID NOT NULL REFERENCES a2a_conversations (id) ON DELETE CASCADE,
  requesting_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  -- the lead model; the other participating models are listed in participants
  model_id UUID REFERENCES llm_models (id) ON DELETE SET NULL,
  collaboration_kind TEXT NOT NULL
    CHECK (collaboration_kind IN ('review', 'ensemble', 'debate', 'refinement', 'delegation', 'verification')),
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  rounds INT4 NOT NULL DEFAULT 0 CHECK (rounds >= 0),
  max_rounds INT4 NOT NULL DEFAULT 3 CHECK (max_rounds >= 1),
  consensus_score FLOAT8 CHECK (consensus_score >= 0 AND consensus_score <= 1),
  participants JSONB NOT NULL DEFAULT '[]'::jsonb,
  result JSONB NOT NULL DEFAULT '{}'::jsonb,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS llm_collaborations_updated_at_id_idx ON llm_collaborations (updated_at, id);
CREATE INDEX IF NOT EXISTS llm_collaborations_conversation_id_idx ON llm_collaborations (conversation_id);
CREATE INDEX IF NOT EXISTS llm_collaborations_requesting_agent_id_idx ON llm_collaborations (requesting_agent_id);
CREATE INDEX IF NOT EXISTS llm_collaborations_model_id_idx ON llm_collaborations (model_id);
