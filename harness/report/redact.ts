// Credentials in scenario inputs (an Ironic node's CHAP password, a target's secret) must
// never reach artifacts, logs or reports. Inputs are recorded for replay, so every recorded
// copy goes through here: values under credential-named keys are replaced, whatever their
// shape. Replay then takes the real input from the scenario (example name, or seed + path).
export const REDACTED = "<redacted>";

/** authPassword, reversePassword, secret, targetSecrets, chapSecret, token, ... */
const CREDENTIAL_KEY = /(password|passwd|secret|token|credential)s?$/i;

export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key);
}

/** A copy of `value` with every credential replaced; `redacted` says whether any was. */
export function redactCredentials<T>(value: T): { value: T; redacted: boolean } {
  let redacted = false;
  const hideAll = (v: unknown): unknown => {
    if (v === null || v === undefined || typeof v === "boolean") return v;
    if (Array.isArray(v)) return v.map(hideAll);
    if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, hideAll(inner)]));
    redacted = true;
    return REDACTED;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, isCredentialKey(k) ? hideAll(inner) : walk(inner)]));
  };
  return { value: walk(value) as T, redacted };
}
