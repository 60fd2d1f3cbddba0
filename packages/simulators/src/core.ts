import { BehaviourState, COMMON_DEFAULTS, type ListName } from './behaviour';
import { loadOrCreateCerts } from './certs';
import { controlHandler, type ControlTarget } from './control';
import { Recorder } from './recorder';
import { startServer, type Handler, type SimServer } from './server';
import { parseBehaviour, type Kind } from './settings';
import type { CommonBehaviour, ServerOptions, Simulator } from './types';

const COMMON_LISTS = ['dead', 'bad', 'flakyOnce', 'throttled', 'slow'] as const;

/** Behaviour, records and counters of one simulator: the part both providers share. */
export class SimulatorCore<B extends CommonBehaviour> {
  readonly behaviour: BehaviourState<B>;
  readonly recorder: Recorder;
  /** Called after every behaviour change, to push settings into the server or verifier. */
  onChange: (b: Readonly<B>) => void = () => undefined;

  constructor(
    readonly kind: Kind,
    defaults: B,
    lists: readonly ListName[],
    initial: Partial<B>,
  ) {
    this.behaviour = new BehaviourState<B>(
      { ...COMMON_DEFAULTS, ...defaults },
      [...COMMON_LISTS, ...lists],
      parseBehaviour(kind, initial) as Partial<B>,
    );
    this.recorder = new Recorder(this.behaviour.current.recordLimit ?? COMMON_DEFAULTS.recordLimit);
  }

  setBehaviour(input: unknown): void {
    this.behaviour.update(parseBehaviour(this.kind, input) as Partial<B>);
    const b = this.behaviour.current;
    this.recorder.setLimit(b.recordLimit ?? COMMON_DEFAULTS.recordLimit);
    this.onChange(b);
  }

  /** Runs `fn` after `ms` (now when 0): the emulated network and slow tokens. */
  later(ms: number, fn: () => void): void {
    if (ms <= 0) fn();
    // unref: a pending slow answer must not keep a test process alive after close().
    else setTimeout(fn, ms).unref();
  }
}

/** Splits start options into server options and behaviour (everything else). */
export function splitOptions<O extends ServerOptions, K extends keyof O>(
  options: O,
  extraKeys: readonly K[],
): { server: ServerOptions; extra: Pick<O, K>; behaviour: Record<string, unknown> } {
  const { port, host, certDir, certHosts, ...rest } = options;
  const extra = {} as Pick<O, K>;
  const behaviour: Record<string, unknown> = { ...rest };
  for (const k of extraKeys) {
    extra[k] = options[k];
    delete behaviour[k as string];
  }
  return { server: { port, host, certDir, certHosts }, extra, behaviour };
}

/** Starts the TLS server for `core` and returns the public Simulator methods. */
export async function listen<B extends CommonBehaviour>(
  core: SimulatorCore<B>,
  server: ServerOptions,
  allowHTTP1: boolean,
  handle: Handler,
  controlExtras: Pick<ControlTarget, 'subscribe'> = {},
): Promise<{ sim: Simulator<B>; server: SimServer }> {
  const certs = await loadOrCreateCerts(server.certDir, server.certHosts);
  const methods = {
    caPem: certs.caPem,
    caFile: certs.caFile,
    setBehaviour: (b: Partial<B>) => core.setBehaviour(b),
    outage: (ms: number, status = 503) => core.setBehaviour({ outageUntil: Date.now() + ms, outageStatus: status }),
    received: () => core.recorder.all(),
    receivedFor: (token: string) => core.recorder.forToken(token),
    stats: () => core.recorder.stats(),
    reset: () => {
      core.recorder.reset();
      core.behaviour.resetMemory();
    },
  };
  const control = controlHandler({
    ...methods,
    behaviour: () => core.behaviour.current,
    setBehaviour: (b) => core.setBehaviour(b),
    ...controlExtras,
  });
  const srv = await startServer({
    host: server.host ?? '127.0.0.1',
    port: server.port ?? 0,
    certs,
    allowHTTP1,
    maxConcurrentStreams: (core.behaviour.current as { maxConcurrentStreams?: number }).maxConcurrentStreams,
    recorder: core.recorder,
    handle,
    control,
  });
  const sim: Simulator<B> = { ...methods, url: srv.url, host: srv.host, port: srv.port, close: () => srv.close() };
  return { sim, server: srv };
}
