/**
 * A real TLS 1.3 ClientHello, captured from node:tls, for tests that replay
 * the start of a handshake over a raw TCP socket and watch what the server
 * does with it.
 */
import net from "node:net";
import tls from "node:tls";

/** The first flight node:tls sends (the ClientHello record), captured by a throwaway TCP listener. */
export function captureClientHello(): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const capture = net.createServer((socket) => {
      socket.once("data", (chunk: Uint8Array) => {
        resolve(new Uint8Array(chunk));
        socket.destroy();
        capture.close();
      });
    });
    capture.listen(0, "127.0.0.1", () => {
      const client = tls.connect({ host: "127.0.0.1", port: (capture.address() as net.AddressInfo).port, rejectUnauthorized: false });
      client.on("error", () => {});
      client.on("close", () => client.destroy());
    });
  });
}
