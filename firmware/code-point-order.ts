// String order by UTF-16 code units. Used wherever bootproof sorts for determinism: unlike
// localeCompare it does not depend on the host's locale, and it does not load ICU's
// collation data on first use (≈5 ms of start-up, counted against every boot).
export const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
