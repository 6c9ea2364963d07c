/**
 * Largest-triangle-three-buckets downsampling (Steinarsson, 2013): keeps the first and last
 * points and, from each of `threshold - 2` equal-count buckets, the point forming the largest
 * triangle with the previously kept point and the next bucket's average. Peaks and troughs
 * survive, so a chart of the result keeps the shape of the series.
 *
 * Columnar input (x and y arrays in time order) so a month of per-second data is two typed
 * arrays rather than millions of objects. Returns the indexes of the kept points, ascending.
 */
export function largestTriangleThreeBuckets(x: ArrayLike<number>, y: ArrayLike<number>, threshold: number): number[] {
  const length = x.length;
  if (threshold >= length || threshold < 3) return Array.from({ length }, (_, i) => i);
  const kept: number[] = [0];
  const bucketSize = (length - 2) / (threshold - 2);
  let a = 0;
  for (let bucket = 0; bucket < threshold - 2; bucket++) {
    const start = Math.floor(bucket * bucketSize) + 1;
    const end = Math.floor((bucket + 1) * bucketSize) + 1;
    // Average of the next bucket; for the last bucket that is the last point.
    const nextEnd = Math.min(Math.floor((bucket + 2) * bucketSize) + 1, length);
    let avgX = 0;
    let avgY = 0;
    for (let i = end; i < nextEnd; i++) {
      avgX += x[i]!;
      avgY += y[i]!;
    }
    avgX /= nextEnd - end;
    avgY /= nextEnd - end;

    const ax = x[a]!;
    const ay = y[a]!;
    let largest = -1;
    let chosen = start;
    for (let i = start; i < end; i++) {
      const area = Math.abs((ax - avgX) * (y[i]! - ay) - (ax - x[i]!) * (avgY - ay));
      if (area > largest) {
        largest = area;
        chosen = i;
      }
    }
    kept.push(chosen);
    a = chosen;
  }
  kept.push(length - 1);
  return kept;
}
