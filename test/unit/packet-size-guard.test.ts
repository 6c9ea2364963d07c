import { PacketSizeGuard } from '../../src/server/mqtt/packet-size-guard';

/** One MQTT packet: a type byte, the remaining length (variable-length encoding), the body. */
function packet(bodyLength: number): Buffer {
  const length: number[] = [];
  let rest = bodyLength;
  do {
    let digit = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) digit |= 0x80;
    length.push(digit);
  } while (rest > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), Buffer.alloc(bodyLength, 1)]);
}

/** Every way of cutting `bytes` in two, and in single bytes. */
function cuts(bytes: Buffer): Buffer[][] {
  const ways = [[bytes], [...bytes].map((byte) => Buffer.from([byte]))];
  for (let at = 1; at < bytes.length; at++) ways.push([bytes.subarray(0, at), bytes.subarray(at)]);
  return ways;
}

describe('the MQTT packet size guard', () => {
  it('follows packets at or under the limit, however the bytes are cut', () => {
    const stream = Buffer.concat([packet(0), packet(127), packet(128), packet(300), packet(2)]);
    for (const chunks of cuts(stream)) {
      const guard = new PacketSizeGuard(300);
      expect(chunks.every((chunk) => guard.accept(chunk))).toBe(true);
    }
  });

  it('refuses a packet over the limit from its header, before its body arrives', () => {
    const header = packet(301).subarray(0, 3);
    for (const chunks of cuts(Buffer.concat([packet(10), header]))) {
      const guard = new PacketSizeGuard(300);
      expect(chunks.every((chunk) => guard.accept(chunk))).toBe(false);
    }
  });

  it('refuses a remaining length of more than four bytes', () => {
    const guard = new PacketSizeGuard(Number.MAX_SAFE_INTEGER);
    expect(guard.accept(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(false);
  });
});
