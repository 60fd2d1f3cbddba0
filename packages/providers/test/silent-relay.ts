import net, { type AddressInfo } from 'node:net';

/**
 * A TCP relay to `port` whose open connections can be made to go silent, like a dropped NAT entry: no FIN,
 * no RST, bytes just stop. Connections opened afterwards work.
 */
export async function startSilentRelay(port: number) {
  const links: Array<{ silent: boolean }> = [];
  const relay = net.createServer((client) => {
    const link = { silent: false };
    links.push(link);
    const upstream = net.connect(port, '127.0.0.1');
    client.on('data', (d) => !link.silent && upstream.write(d));
    upstream.on('data', (d) => !link.silent && client.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as AddressInfo).port,
    silenceOpenConnections: () => links.forEach((link) => (link.silent = true)),
    close: () => new Promise((resolve) => relay.close(resolve)),
  };
}
