// Statistics the benches share: medians and seeded bootstrap intervals.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** mulberry32: the bootstrap's resamples are the same on every run of the same samples. */
export function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Percentile bootstrap interval (95 %) of the median, from a seeded generator. */
export function bootstrapMedianInterval(xs, resamples = 2000, seed = 1) {
  const random = seeded(seed);
  const medians = [];
  for (let r = 0; r < resamples; r++) medians.push(median(xs.map(() => xs[Math.floor(random() * xs.length)])));
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(resamples * 0.025)], medians[Math.ceil(resamples * 0.975) - 1]];
}

/**
 * Two servers measured in alternating rounds: the ratio of each round's pair (a[i] / b[i],
 * taken moments apart, so drift on a shared machine cancels), its median, and the 95 %
 * bootstrap interval of that median. A claim that one is faster holds when the interval
 * lies above 1.
 */
export function pairedRatio(a, b, resamples = 2000, seed = 1) {
  if (a.length !== b.length || a.length === 0) throw new Error(`pairedRatio: ${a.length} vs ${b.length} samples`);
  const ratios = a.map((x, i) => x / b[i]);
  const [low, high] = bootstrapMedianInterval(ratios, resamples, seed);
  return { ratio: median(ratios), low, high };
}
