/**
 * Follows the MQTT packets of one connection's bytes to know each packet's length from its
 * fixed header, before its body arrives. aedes 1.2 has no packet size limit (its parser buffers
 * a whole packet, up to the protocol's 256 MiB): a packet declared larger than the limit is
 * refused from its header, and its connection closed, without buffering it.
 */
export class PacketSizeGuard {
  /** Body bytes of the current packet still to pass; -1 while reading a fixed header. */
  private remaining = -1;
  /** The fixed header being read: past its first byte, the remaining-length digits so far. */
  private headerBytes = 0;
  private length = 0;
  private multiplier = 1;

  constructor(private readonly maxPacketBytes: number) {}

  /** Follows one chunk; false once a packet over the limit (or a malformed length) was declared. */
  accept(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skipped = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skipped;
        i += skipped;
        if (this.remaining === 0) this.remaining = -1;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.headerBytes === 0) {
        // The packet type and flags: the remaining length follows.
        this.headerBytes = 1;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.headerBytes++;
      if (byte & 0x80) {
        // At most 4 length bytes (MQTT 3.1.1 §2.2.3).
        if (this.headerBytes > 4) return false;
        continue;
      }
      if (this.length > this.maxPacketBytes) return false;
      this.headerBytes = 0;
      this.remaining = this.length === 0 ? -1 : this.length;
    }
    return true;
  }
}
