import type { ClientHttp2Session } from 'node:http2';

const probing = new WeakSet<ClientHttp2Session>();

/**
 * After a request timed out: is the session still alive? A connection can die silently (no FIN, e.g. a
 * dropped NAT entry), and then every later request on it times out too, for as long as TCP takes to give
 * up (many minutes). A PING tells a slow answer from a dead link: no PONG within `timeoutMs` and the
 * session is destroyed, so the next request opens a new one. One probe per session at a time.
 */
export function probeSession(session: ClientHttp2Session, timeoutMs: number): void {
  if (session.destroyed || session.closed || probing.has(session)) return;
  probing.add(session);
  const deadline = setTimeout(() => session.destroy(new Error('no PING answer after a request timeout')), timeoutMs);
  const done = () => {
    clearTimeout(deadline);
    probing.delete(session);
  };
  const sent = session.ping((error) => {
    done();
    if (error && !session.destroyed) session.destroy(error);
  });
  if (!sent) done();
}
