import { statSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config';
import { storeFile, streamFile } from './backends';

/** A SQLite database's size on disk: its file and its write-ahead log, which grows between checkpoints. */
function bytesOnDisk(file: string): number {
  return [file, `${file}-wal`].reduce((sum, part) => sum + (statSync(part, { throwIfNoEntry: false })?.size ?? 0), 0);
}

/**
 * The embedded backends' files, sized when a scrape asks: a disk filling up is the embedded
 * deployment's most likely outage. Nothing is registered for Oracle or OCI Streaming, whose
 * storage their own service monitors.
 */
export function watchDataFiles(registry: Registry, config: Config): void {
  const registers = [registry];
  if (!config.oracle) {
    const file = storeFile(config);
    new Gauge({
      name: 'telemetry_store_file_bytes',
      help: 'Size of the embedded store (database file and its write-ahead log).',
      registers,
      collect() {
        this.set(bytesOnDisk(file));
      },
    });
  }
  if (!config.stream.oci) {
    const file = streamFile(config);
    new Gauge({
      name: 'telemetry_stream_file_bytes',
      help: 'Size of the embedded stream log (database file and its write-ahead log).',
      registers,
      collect() {
        this.set(bytesOnDisk(file));
      },
    });
  }
}
