-- Interventions, compliance flags with their audit trail, staff accounts and
-- the outboxes of the rules service. Everything lives in the schema `rules`,
-- which the operator creates and gives to the rules role.

CREATE TABLE rules.interventions (
  intervention_id uuid PRIMARY KEY,
  player_id text NOT NULL,
  rule_id text NOT NULL,
  rule_kind text NOT NULL,
  rules_version text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
  actions text[] NOT NULL,
  message text NOT NULL,
  triggering_event_id uuid NOT NULL,
  triggering_event_type text NOT NULL,
  triggering_committed_at timestamptz NOT NULL,
  window_start timestamptz,
  window_end timestamptz NOT NULL,
  currency text,
  window_values jsonb NOT NULL,
  thresholds jsonb NOT NULL,
  flag_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interventions_player_idx ON rules.interventions (player_id, created_at DESC, intervention_id);

CREATE TABLE rules.flags (
  flag_id uuid PRIMARY KEY,
  intervention_id uuid NOT NULL UNIQUE REFERENCES rules.interventions (intervention_id),
  player_id text NOT NULL,
  rule_id text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
  status text NOT NULL CHECK (status IN ('open', 'in_review', 'resolved')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flags_status_idx ON rules.flags (status, created_at, flag_id);
CREATE INDEX flags_player_idx ON rules.flags (player_id, created_at DESC);

-- One row per change of a flag, written in the transaction of the change.
CREATE TABLE rules.flag_audit (
  audit_id bigserial PRIMARY KEY,
  flag_id uuid NOT NULL REFERENCES rules.flags (flag_id),
  action text NOT NULL CHECK (action IN ('opened', 'review_started', 'resolved')),
  from_status text,
  to_status text NOT NULL,
  actor text NOT NULL,
  actor_role text,
  note text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flag_audit_flag_idx ON rules.flag_audit (flag_id, audit_id);

-- The audit trail is append-only, also for the role that owns the table.
CREATE FUNCTION rules.reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'rules.flag_audit is append-only; % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER flag_audit_append_only BEFORE UPDATE OR DELETE ON rules.flag_audit
  FOR EACH ROW EXECUTE FUNCTION rules.reject_audit_change();

CREATE TABLE rules.staff (
  staff_id uuid PRIMARY KEY,
  username text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('agent', 'compliance_officer')),
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Events to publish, written in the transaction of the rows they describe and
-- deleted once the broker has confirmed them.
CREATE TABLE rules.outbox (
  outbox_id bigserial PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  routing_key text NOT NULL,
  envelope jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Compliance emails to send, written with their intervention.
CREATE TABLE rules.email_outbox (
  email_id bigserial PRIMARY KEY,
  intervention_id uuid NOT NULL UNIQUE REFERENCES rules.interventions (intervention_id),
  recipient text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX email_outbox_unsent_idx ON rules.email_outbox (email_id) WHERE sent_at IS NULL;
