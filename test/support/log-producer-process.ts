import { EmbeddedStream } from '../../src/stream/embedded/embedded-stream';

/**
 * A child process for the writer-thread durability test: several producers append to the
 * embedded log at `argv[2]` (synchronous=FULL, the default) until the process is killed, each
 * printing one JSON line per acknowledged produce: [partition, offset, value] per record.
 * Pipes to the parent are written synchronously on Linux, so a printed line is an ack.
 */
const PRODUCERS = 4;
const RECORDS_PER_PRODUCE = 10;

const stream = new EmbeddedStream({ file: process.argv[2]!, partitions: 4 });

async function produceForever(producer: number): Promise<never> {
  for (let round = 0; ; round++) {
    const records = Array.from({ length: RECORDS_PER_PRODUCE }, (_, i) => ({ key: `device-${i % 5}`, value: `p${producer}-r${round}-${i}` }));
    const positions = await stream.produce('readings', records);
    process.stdout.write(`${JSON.stringify(positions.map((position, i) => [position.partition, position.offset, records[i]!.value]))}\n`);
  }
}

for (let producer = 0; producer < PRODUCERS; producer++) void produceForever(producer);
