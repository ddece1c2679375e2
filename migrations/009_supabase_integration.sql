-- 009 Real-time layer: channels, who subscribes to them, and the events published on them.
-- Named after the Supabase Realtime model it mirrors, but plain tables only: no auth schema,
-- row-level security or publications, because the same schema must run on CockroachDB, where
-- subscribers find new events by polling rather than by server push.

CREATE TABLE IF NOT EXISTS realtime_channels (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  -- names may repeat: both sides can open a channel of the same name before syncing; clients
  -- resolve duplicates to the oldest live row
  channel_name TEXT NOT NULL,
  channel_kind TEXT NOT NULL
    CHECK (channel_kind IN ('broadcast', 'presence', 'table_changes', 'agent_inbox', 'system')),
  owner_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'paused', 'closed')),
  is_private BOOLEAN NOT NULL DEFAULT false,
  config JSONB NOT NULL DEFAULT '{}'::jsonb,
  last_event_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS realtime_channels_updated_at_id_idx ON realtime_channels (updated_at, id);
CREATE INDEX IF NOT EXISTS realtime_channels_channel_name_idx ON realtime_channels (channel_name) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS realtime_channels_owner_agent_id_idx ON realtime_channels (owner_agent_id);

CREATE TABLE IF NOT EXISTS realtime_subscriptions (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id UUID NOT NULL REFERENCES realtime_channels (id) ON DELETE CASCADE,
  agent_id UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'paused', 'cancelled')),
  -- which events the subscriber wants (event kinds, source tables, payload match)
  filter_spec JSONB NOT NULL DEFAULT '{}'::jsonb,
  -- delivery cursor; events are pruned, so this is a position and not a foreign key
  last_delivered_event_at TIMESTAMPTZ,
  last_delivered_event_id UUID,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS realtime_subscriptions_updated_at_id_idx ON realtime_subscriptions (updated_at, id);
CREATE INDEX IF NOT EXISTS realtime_subscriptions_channel_id_status_idx ON realtime_subscriptions (channel_id, status);
CREATE INDEX IF NOT EXISTS realtime_subscriptions_agent_id_idx ON realtime_subscriptions (agent_id);

CREATE TABLE IF NOT EXISTS realtime_events (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  channel_id UUID NOT NULL REFERENCES realtime_channels (id) ON DELETE CASCADE,
  publisher_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  event_kind TEXT NOT NULL
    CHECK (event_kind IN ('insert', 'update', 'delete', 'broadcast', 'presence_join', 'presence_leave', 'heartbeat')),
  -- for table_changes events: the changed row, in any table, hence no foreign key
  source_table TEXT,
  source_row_id UUID,
  payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  published_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS realtime_events_updated_at_id_idx ON realtime_events (updated_at, id);
-- subscribers poll a channel for events after their cursor
CREATE INDEX IF NOT EXISTS realtime_events_channel_id_published_at_idx ON realtime_events (channel_id, published_at, id);
CREATE INDEX IF NOT EXISTS realtime_events_publisher_agent_id_idx ON realtime_events (publisher_agent_id);
CREATE INDEX IF NOT EXISTS realtime_events_expires_at_idx ON realtime_events (expires_at) WHERE expires_at IS NOT NULL;
