import type { Migration } from 'kysely';
import * as m001 from './001_initial.js';
import * as m003 from './003_temporary_media.js';
import * as m004 from './004_admin.js';
import * as m005 from './005_stats.js';
import * as m006 from './006_slot_notice.js';
import * as m007 from './007_rejection_counts.js';
import * as m008 from './008_admin_sessions.js';
import * as m009 from './009_failover.js';
import * as m010 from './010_gallery.js';
import * as m011 from './011_booths.js';
import * as m012 from './012_account_admin.js';
import * as m013 from './013_enqueue_function.js';
import * as m014 from './014_booth_requests.js';
import * as m015 from './015_job_notices.js';
import * as m016 from './016_refusal_message.js';

/**
 * Ordered migrations, run at start (names sort in execution order). Add new ones at the end.
 * There is no 002: it was folded into 001 before any installation ran it, and its number is not
 * reused so that a database's recorded history never names two different migrations alike.
 */
export const migrations: Record<string, Migration> = {
  '001_initial': m001,
  '003_temporary_media': m003,
  '004_admin': m004,
  '005_stats': m005,
  '006_slot_notice': m006,
  '007_rejection_counts': m007,
  '008_admin_sessions': m008,
  '009_failover': m009,
  '010_gallery': m010,
  '011_booths': m011,
  '012_account_admin': m012,
  '013_enqueue_function': m013,
  '014_booth_requests': m014,
  '015_job_notices': m015,
  '016_refusal_message': m016,
};
