-- 004 Phase C knowledge graph: nodes (entities, concepts, facts) extracted by agents, often
-- from a memory, and the typed, weighted edges that join them.

CREATE TABLE IF NOT EXISTS graph_nodes (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  -- knowledge is shared: it outlives the agent or memory it came from
  agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  source_memory_id UUID REFERENCES memories (id) ON DELETE SET NULL,
  node_kind TEXT NOT NULL
    CHECK (node_kind IN ('entity', 'concept', 'event', 'document', 'agent', 'tool', 'fact')),
  label TEXT NOT NULL,
  description TEXT,
  properties JSONB NOT NULL DEFAULT '{}'::jsonb,
  confidence FLOAT8 NOT NULL DEFAULT 1 CHECK (confidence >= 0 AND confidence <= 1),
  tags TEXT[] NOT NULL DEFAULT '{}'::text[],
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS graph_nodes_updated_at_id_idx ON graph_nodes (updated_at, id);
CREATE INDEX IF NOT EXISTS graph_nodes_agent_id_idx ON graph_nodes (agent_id);
CREATE INDEX IF NOT EXISTS graph_nodes_source_memory_id_idx ON graph_nodes (source_memory_id);
-- entity resolution looks a label up within a kind before creating a new node
CREATE INDEX IF NOT EXISTS graph_nodes_kind_label_idx ON graph_nodes (node_kind, label) WHERE deleted_at IS NULL;
-- graph queries filter nodes by attribute with properties @> '{...}'
CREATE INDEX IF NOT EXISTS graph_nodes_properties_idx ON graph_nodes USING GIN (properties);

CREATE TABLE IF NOT EXISTS graph_edges (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  source_node_id UUID NOT NULL REFERENCES graph_nodes (id) ON DELETE CASCADE,
  target_node_id UUID NOT NULL REFERENCES graph_nodes (id) ON DELETE CASCADE,
  edge_kind TEXT NOT NULL
    CHECK (edge_kind IN ('is_a', 'part_of', 'related_to', 'causes', 'depends_on', 'derived_from', 'mentions', 'contradicts')),
  -- the free-text predicate as extracted; edge_kind is its normalised class
  predicate TEXT,
  weight FLOAT8 NOT NULL DEFAULT 1 CHECK (weight >= 0),
  confidence FLOAT8 NOT NULL DEFAULT 1 CHECK (confidence >= 0 AND confidence <= 1),
  properties JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_by_agent_id UUID REFERENCES agents (id) ON DELETE SET NULL,
  evidence_memory_id UUID REFERENCES memories (id) ON DELETE SET NULL,
  -- facts can be true only for a period; NULL means unbounded on that side
  valid_from TIMESTAMPTZ,
  valid_to TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ,
  CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
CREATE INDEX IF NOT EXISTS graph_edges_updated_at_id_idx ON graph_edges (updated_at, id);
-- traversal goes both ways, usually restricted to one kind of relation
CREATE INDEX IF NOT EXISTS graph_edges_source_node_id_kind_idx ON graph_edges (source_node_id, edge_kind);
CREATE INDEX IF NOT EXISTS graph_edges_target_node_id_kind_idx ON graph_edges (target_node_id, edge_kind);
CREATE INDEX IF NOT EXISTS graph_edges_created_by_agent_id_idx ON graph_edges (created_by_agent_id);
CREATE INDEX IF NOT EXISTS graph_edges_evidence_memory_id_idx ON graph_edges (evidence_memory_id);
