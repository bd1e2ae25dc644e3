/**
 * The "source" that per-source connection limits count against, derived from
 * a socket's remote address.
 *
 * - IPv4: the address itself.
 * - IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack listener reports
 *   for IPv4 clients): the IPv4 address, so the same client is one source
 *   whichever way the listener was bound.
 * - IPv6: the /64 network (`2001:db8:1:2::/64`). A /64 is the smallest
 *   network a host is normally given, and every address in it is the host's
 *   to use: counting single IPv6 addresses would let one machine take 2^64
 *   "sources". The price is that hosts sharing one /64 (a LAN using SLAAC)
 *   share one allowance, as IPv4 clients behind one NAT address do.
 *
 * Anything that does not parse (it should not happen) is used verbatim.
 */

/** Bits of an IPv6 address that make up a source. */
const IPV6_SOURCE_PREFIX_BITS = 64;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4Octets(text: string): number[] | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/** The eight 16-bit groups of an IPv6 address (zone removed), or undefined if it is not one. */
function ipv6Groups(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, "");
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const octets = ipv4Octets(piece);
        if (!octets) return undefined;
        groups.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...Array(missing).fill(0), ...tail] : undefined;
}

/** The key a remote address is limited under (see the module comment). */
export function sourceOf(remoteAddress: string): string {
  if (ipv4Octets(remoteAddress)) return remoteAddress;
  const groups = ipv6Groups(remoteAddress);
  if (!groups) return remoteAddress;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join(".");
  const prefixGroups = IPV6_SOURCE_PREFIX_BITS / 16;
  return `${groups.slice(0, prefixGroups).map((g) => g.toString(16)).join(":")}::/${IPV6_SOURCE_PREFIX_BITS}`;
}
