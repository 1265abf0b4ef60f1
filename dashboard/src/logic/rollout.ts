/** The body of POST /api/v1/rollouts from the rollout form's fields (DOM-free; the cloud validates the rest and says what is wrong). */

export interface RolloutForm {
  updateId: string;
  target: 'gateways' | 'site' | 'all';
  gateways: readonly string[];
  site: string;
  maxConcurrent: string;
  perMinute: string;
  /** A count ("2") or a share ("25%"). */
  abortAfterFailures: string;
  healthTimeoutS: string;
}

/** A whole number typed in a field; the text itself when it is not one (the cloud then names the field). */
function integerOrText(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** Empty optional fields are left out (the cloud's defaults apply); a field that is not a number is sent as typed so that the cloud's refusal names it. */
export function rolloutBody(form: RolloutForm): Record<string, unknown> {
  const body: Record<string, unknown> = { updateId: form.updateId };
  if (form.target === 'gateways') body.gateways = [...form.gateways];
  else if (form.target === 'site') body.site = form.site;
  else body.all = true;
  const optional = { maxConcurrent: form.maxConcurrent, perMinute: form.perMinute, healthTimeoutS: form.healthTimeoutS } as const;
  for (const [key, value] of Object.entries(optional)) {
    if (value.trim() !== '') body[key] = integerOrText(value.trim());
  }
  const abort = form.abortAfterFailures.trim().replace(/\s+%$/, '%');
  if (abort !== '') body.abortAfterFailures = abort.endsWith('%') ? abort : integerOrText(abort);
  return body;
}
