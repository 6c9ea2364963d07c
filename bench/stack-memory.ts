/**
 * Peak memory of whole process trees while another command runs a workload: ours is one
 * process, the peer is PostGraphile plus PostgreSQL's postmaster and its backends.
 *
 *   npm run bench:stack-memory -- --seconds 70 ours=PID
 *   npm run bench:stack-memory -- --seconds 70 postgraphile=PID postgres=POSTMASTER_PID
 *
 * Every 200 ms, for each named root, sums over the process and all its descendants the
 * proportional set size (Linux `Pss` in /proc/PID/smaps_rollup: a page shared by n processes
 * counts 1/n in each, so PostgreSQL's shared buffers count once, not once per backend) and the
 * plain resident size; prints the peak of each sum after `seconds`. A process's own `VmHWM` (what
 * the other benches print) leaves out the database server when the database is another process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({ options: { seconds: { type: 'string', default: '60' } }, allowPositionals: true });
const roots = positionals.map((spec) => {
  const [name, pid] = spec.split('=');
  if (!name || !/^\d+$/.test(pid ?? '')) throw new Error(`expected name=PID, got "${spec}"`);
  return { name, pid: Number(pid), peakPss: 0, peakRss: 0, processes: 0 };
});
if (roots.length === 0) throw new Error('name at least one process tree: name=PID');

/** Each process's children, from every /proc/PID/stat (the parent is the 2nd field after the name). */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return children;
}

function tree(pid: number, children: Map<number, number[]>): number[] {
  return [pid, ...(children.get(pid) ?? []).flatMap((child) => tree(child, children))];
}

/** A field of /proc/PID/smaps_rollup, kB (0 for a process that has ended). */
function rollup(pid: number, field: 'Pss' | 'Rss'): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const until = Date.now() + Number(args.seconds) * 1000;
const timer = setInterval(() => {
  const children = childrenByParent();
  for (const root of roots) {
    const pids = tree(root.pid, children);
    root.peakPss = Math.max(
      root.peakPss,
      pids.reduce((sum, pid) => sum + rollup(pid, 'Pss'), 0),
    );
    root.peakRss = Math.max(
      root.peakRss,
      pids.reduce((sum, pid) => sum + rollup(pid, 'Rss'), 0),
    );
    root.processes = Math.max(root.processes, pids.length);
  }
  if (Date.now() < until) return;
  clearInterval(timer);
  for (const root of roots) {
    console.log(
      `${root.name}: peak Pss ${(root.peakPss / 1024).toFixed(0)} MiB, peak Rss summed ${(root.peakRss / 1024).toFixed(0)} MiB, up to ${root.processes} process(es)`,
    );
  }
}, 200);
