/**
 * seededRandom returns a deterministic generator of floats in [0, 1) (mulberry32): the scheduler's
 * tie-breaks must be reproducible from a seed, so tests and replays place tasks identically.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** shuffledRanks gives each of n items a distinct rank in 0..n-1, a seeded Fisher–Yates permutation. */
export function shuffledRanks(n: number, seed: number): Int32Array {
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) ranks[i] = i;
  const rnd = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const tmp = ranks[i]!;
    ranks[i] = ranks[j]!;
    ranks[j] = tmp;
  }
  return ranks;
}
