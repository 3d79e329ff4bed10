import type { BoothActivityRow } from './statements.js';

/**
 * A refusal before the booth sent its name (an early wrong password, a full queue) is grouped under
 * its address alone; it belongs to the named booth last seen at that address, when there is one.
 */
export function mergeUnnamedContacts(rows: BoothActivityRow[]): BoothActivityRow[] {
  const named = new Map<string, BoothActivityRow>();
  for (const r of rows) {
    if ((r.name !== '' || r.user_id !== '') && !named.has(r.address)) named.set(r.address, r); // rows come latest first
  }
  const out: BoothActivityRow[] = [];
  for (const r of rows) {
    const into = r.name === '' && r.user_id === '' ? named.get(r.address) : undefined;
    if (!into) {
      out.push(r);
      continue;
    }
    into.jobs += r.jobs;
    into.refusals += r.refusals;
    if (r.last_contact_at > into.last_contact_at) {
      into.last_contact_at = r.last_contact_at;
      into.last_slot_id = r.last_slot_id;
    }
    if (r.last_job_at && (!into.last_job_at || r.last_job_at > into.last_job_at)) {
      into.last_job_at = r.last_job_at;
      into.last_job_id = r.last_job_id;
      into.last_outcome = r.last_outcome;
    }
    if (r.last_refusal_at && (!into.last_refusal_at || r.last_refusal_at > into.last_refusal_at)) {
      into.last_refusal_at = r.last_refusal_at;
      into.last_refusal_code = r.last_refusal_code;
      into.last_refusal_status = r.last_refusal_status;
    }
  }
  // Booths with accepted photos first (a flood of strangers' refusals cannot hide them), then latest contact.
  return out.sort(
    (a, b) => Number(b.jobs > 0) - Number(a.jobs > 0) || b.last_contact_at.getTime() - a.last_contact_at.getTime(),
  );
}
