import { benchPayload } from './service-run';
import { clientIds } from './population';
import { peakRssBytes, round, rssBytes } from './proc';
import type { Service } from './service';

export interface ApiMemory {
  rssBytes: number;
  /** V8 heap in use, from the API's own /metrics (prom-client's nodejs_heap_size_used_bytes); 0 if unavailable. */
  heapUsedBytes: number;
}

export interface ApiMillionReport {
  clients: number;
  bodyBytes: number;
  /** Answer time of each of the requests, in order, ms (the first runs on a cold JIT). */
  answerMs: number[];
  /** Once started and warmed up with a few small requests. */
  idle: ApiMemory;
  /** Highest RSS seen while the requests ran (VmHWM), bytes. */
  peakRssBytes: number;
  /** Right after the last answer. */
  afterAnswer: ApiMemory;
  /** After `settleSeconds` without requests (as soon as RSS is back within the limit, else after 60 s). */
  settled: ApiMemory;
  settleSeconds: number;
  /** settled RSS within max(32 MB, 25 %) of idle RSS. */
  returnedToIdle: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function memory(service: Service, pid: number): Promise<ApiMemory> {
  let heapUsedBytes = 0;
  try {
    const res = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${service.apiKey}` } });
    const text = res.ok ? await res.text() : '';
    heapUsedBytes = Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? 0);
  } catch {
    // no /metrics: RSS only
  }
  const rss = rssBytes(pid);
  if (rss === undefined) throw new Error('the API process has exited (see its output above)');
  return { rssBytes: rss, heapUsedBytes };
}

/**
 * The API alone (no workers, its own Redis prefix): `repeat` requests naming `clients` clients each,
 * answer times, and the API's memory before, during and after. V8 gives its heap back once the process
 * has been idle a while (its memory reducer, ~10-20 s here), so the wait for "back to idle" lasts up to 60 s.
 */
export async function apiMillion(
  service: Service,
  clients: number,
  repeat: number,
  log: (line: string) => void,
): Promise<ApiMillionReport> {
  const pid = service.apiPid!;
  const small = JSON.stringify({ clients: clientIds(1000), payload: benchPayload });
  for (let i = 0; i < 3; i++) await service.request('POST', '/push/push2clients', small);
  await sleep(2000);
  const idle = await memory(service, pid);
  const body = JSON.stringify({ clients: clientIds(clients), payload: benchPayload });
  const answerMs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    const res = await service.request('POST', '/push/push2clients', body);
    answerMs.push(round(performance.now() - started, 1));
    if (res.status !== 200) throw new Error(`the API refused ${clients} clients: ${res.status} ${JSON.stringify(res.body)}`);
    log(`  request ${i + 1}/${repeat}: ${answerMs[i]} ms, API RSS ${mb(rssBytes(pid))}`);
  }
  const afterAnswer = await memory(service, pid);
  const limit = idle.rssBytes + Math.max(32 * 2 ** 20, idle.rssBytes * 0.25);
  const settleStarted = performance.now();
  let settled = afterAnswer;
  while (performance.now() - settleStarted < 60_000) {
    await sleep(1000);
    settled = await memory(service, pid);
    if (settled.rssBytes <= limit) break;
  }
  return {
    clients,
    bodyBytes: Buffer.byteLength(body),
    answerMs,
    idle,
    peakRssBytes: peakRssBytes(pid) ?? 0,
    afterAnswer,
    settled,
    settleSeconds: round((performance.now() - settleStarted) / 1000, 1),
    returnedToIdle: settled.rssBytes <= limit,
  };
}

export const mb = (bytes: number | undefined): string => `${((bytes ?? 0) / 2 ** 20).toFixed(0)} MB`;
