/**
 * The signals `npm run simulate` sends, apart from the sending: a random walk per device and,
 * with `--anomalies`, faults injected on a schedule so each anomaly kind shows within a minute.
 * Pure (the randomness is passed in), so a test can replay the very data the simulator sends.
 */

/** A source of numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** A seeded Random (mulberry32): the same numbers for the same seed. */
export function seededRandom(seed: number): Random {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulatedDevice {
  readonly id: string;
  temperature: number;
  humidity: number;
}

export function newDevice(id: string, random: Random): SimulatedDevice {
  return { id, temperature: 18 + random() * 6, humidity: 35 + random() * 20 };
}

/** One step of the walk: temperature moves up to +-0.1, humidity up to +-0.5 (kept in 0-100). */
export function walk(device: SimulatedDevice, random: Random): { temperature: number; humidity: number } {
  device.temperature += (random() - 0.5) * 0.2;
  device.humidity = Math.min(100, Math.max(0, device.humidity + (random() - 0.5)));
  return { temperature: Math.round(device.temperature * 100) / 100, humidity: Math.round(device.humidity * 10) / 10 };
}

/**
 * What the faulty devices do, by seconds since the simulator started, in a cycle of CYCLE_SECONDS
 * (the first fault comes once the z-score warm-up of FAULT_RULE has passed):
 *  - a spike: one temperature reading 15 above the walk (ZSCORE, RATE_OF_CHANGE);
 *  - a stuck sensor: temperature frozen at 45 for 5 s (THRESHOLD above FAULT_RULE's max 40);
 *  - a silence: nothing for 15 s, past the 10 s heartbeat timeout the simulator gives them (SILENCE).
 */
export type Fault = 'spike' | 'stuck' | 'silent' | null;
export const CYCLE_SECONDS = 60;
export const HEARTBEAT_TIMEOUT_SECONDS = 10;
export const STUCK_VALUE = 45;
export const SPIKE = 15;

export function faultAt(secondsSinceStart: number): Fault {
  if (secondsSinceStart < 25) return null;
  const phase = (secondsSinceStart - 25) % CYCLE_SECONDS;
  if (phase < 1) return 'spike';
  if (phase >= 10 && phase < 15) return 'stuck';
  if (phase >= 20 && phase < 35) return 'silent';
  return null;
}

/** Every fifth device (sim-001, sim-006, ...) is faulty; the others stay normal, for contrast. */
export const isFaulty = (index: number): boolean => index % 5 === 0;

/**
 * The rule the simulator sets on each faulty device with `--anomalies`: the default z-score
 * with a shorter warm-up (20 values, so it can fire within the first minute), a range and a
 * rate limit that the walk never reaches and the faults do, and a clearAfter short enough to
 * see anomalies clear between faults.
 */
export const FAULT_RULE = {
  metric: 'temperature',
  zScore: { threshold: 4, window: 60, warmup: 20 },
  min: -20,
  max: 40,
  maxRatePerSecond: 5,
  severity: 'WARNING',
  clearAfterSeconds: 20,
} as const;

/** A reading's temperature under a fault; undefined: the device sends nothing. */
export function faulty(fault: Fault, temperature: number): number | undefined {
  switch (fault) {
    case 'spike':
      return Math.round((temperature + SPIKE) * 100) / 100;
    case 'stuck':
      return STUCK_VALUE;
    case 'silent':
      return undefined;
    default:
      return temperature;
  }
}
