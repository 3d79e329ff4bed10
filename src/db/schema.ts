import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the tables created by the migrations in ./migrations. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string | T, string | T>;

export type FailureReason = 'timeout' | 'provider_error' | 'cancelled' | 'internal_error';

export interface SlotTable {
  id: string;
  name: string;
  enabled: Generated<boolean>;
  provider: Generated<string>;
  operation: Generated<string>;
  settings: Json<Record<string, unknown>>;
  max_upload_bytes: number | null;
  stats_reset_at: Timestamp | null;
  created_at: GeneratedTimestamp;
  updated_at: GeneratedTimestamp;
}

export interface InstanceTable {
  id: string;
  hostname: string;
  pid: number;
  started_at: Timestamp;
  heartbeat_at: Timestamp;
  stopped_at: Timestamp | null;
}

export interface JobTable {
  id: string;
  slot_id: string;
  instance_id: string;
  status: Generated<'pending' | 'processing'>;
  is_finalized: Generated<boolean>;
  failure_reason: FailureReason | null;
  failure_detail: Json<Record<string, unknown>> | null;
  is_test: Generated<boolean>;
  provider: string;
  operation: string;
  settings: Json<Record<string, unknown>>;
  provider_ref: string | null;
  provider_calls: Json<unknown[]>;
  payload_path: string | null;
  payload_mime: string | null;
  payload_size: number | null;
  result_path: string | null;
  result_mime: string | null;
  result_size: number | null;
  result_sha256: string | null;
  result_expires_at: Timestamp | null;
  result_inline: Buffer | null;
  metadata: Json<Record<string, unknown>>;
  correlation_id: string | null;
  received_at: Timestamp;
  created_at: Timestamp;
  expires_at: Timestamp;
  claimed_at: Timestamp | null;
  finalized_at: Timestamp | null;
  responded_at: Timestamp | null;
}

export interface IngestRejectionTable {
  id: Generated<string>;
  slot_id: string | null;
  status: number;
  code: string;
  occurred_at: Timestamp;
}

export interface SettingTable {
  key: string;
  value: Json;
  updated_at: Timestamp;
  updated_by: string | null;
}

export interface TemplateTable {
  id: string;
  slot_id: string;
  setting_key: string;
  path: string;
  mime: string;
  size: ColumnType<string, number, number>;
  sha256: string;
  width: number | null;
  height: number | null;
  created_at: Timestamp;
}

export interface Database {
  slot: SlotTable;
  instance: InstanceTable;
  job: JobTable;
  ingest_rejection: IngestRejectionTable;
  setting: SettingTable;
  template: TemplateTable;
  temporary_media: TemporaryMediaTable;
  turbotext_webhook: TurbotextWebhookTable;
  admin_account: AdminAccountTable;
  audit_log: AuditLogTable;
}

export interface TemporaryMediaTable {
  id: string;
  job_id: string;
  path: string;
  mime: string;
  size: ColumnType<number, number, number>;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface TurbotextWebhookTable {
  token: string;
  job_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  delivered_at: Timestamp | null;
  payload: Json<unknown> | null;
}

export interface AdminAccountTable {
  username: string;
  password_hash: string;
  permissions: string[];
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Timestamp;
  actor: string;
  action: string;
  target: string | null;
  fields: string[];
}
