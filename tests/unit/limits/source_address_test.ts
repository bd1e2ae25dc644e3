/**
 * What a per-source limit counts against: IPv4 addresses as they are, IPv4
 * clients of a dual-stack listener as the same IPv4 address, IPv6 clients by
 * their /64.
 */
import assert from "node:assert/strict";
import { sourceOf } from "../../../src/limits/mod.ts";

Deno.test("an IPv4 address is its own source", () => {
  assert.equal(sourceOf("192.0.2.7"), "192.0.2.7");
  assert.equal(sourceOf("127.0.0.2"), "127.0.0.2");
});

Deno.test("an IPv4-mapped IPv6 address is the same source as the IPv4 address", () => {
  assert.equal(sourceOf("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(sourceOf("::FFFF:192.0.2.7"), "192.0.2.7");
  assert.equal(sourceOf("0:0:0:0:0:ffff:c000:0207"), "192.0.2.7", "the hexadecimal spelling too");
});

Deno.test("IPv6 addresses in one /64 are one source, whatever their spelling", () => {
  const source = "2001:db8:1:2::/64";
  for (
    const address of [
      "2001:db8:1:2::1",
      "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
      "2001:0DB8:0001:0002:0000:0000:0000:0001",
      "2001:db8:1:2::1%eth0",
      "2001:db8:1:2::192.0.2.1",
    ]
  ) assert.equal(sourceOf(address), source, address);
  assert.notEqual(sourceOf("2001:db8:1:3::1"), source, "the next /64 is another source");
  assert.equal(sourceOf("::1"), "0:0:0:0::/64");
  assert.equal(sourceOf("fe80::1"), "fe80:0:0:0::/64");
});

Deno.test("a string that is not an IP address is used as it is", () => {
  for (const text of ["unknown", "1::2::3", "2001:db8::1::", "300.1.1.1", "1:2:3:4:5:6:7:8:9", "::ffff:300.1.1.1"]) {
    assert.equal(sourceOf(text), text);
  }
});
