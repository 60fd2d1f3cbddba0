/** The content type the API's JSON routes expect. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** An HTTP answer, its body read once: as text, and parsed when it is JSON. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: any;
  /** `json` when the body is JSON, else `text`: what an assertion on the envelope should show. */
  body: any;
}

/**
 * One HTTP request with a deadline (the one fetch-and-parse helper of the tests and the test helpers).
 * A string, bytes or a stream `body` is sent as it is, with only the headers given; any other value is
 * sent as JSON, with the JSON content type unless `headers` name another.
 */
export async function fetchJson(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 15_000,
): Promise<HttpAnswer> {
  const raw = typeof body === 'string' || body instanceof Uint8Array || body instanceof ReadableStream;
  const response = await fetch(url, {
    method,
    headers: body === undefined || raw ? headers : { 'Content-Type': JSON_CONTENT_TYPE, ...headers },
    ...(body !== undefined && { body: raw ? body : JSON.stringify(body), duplex: 'half' }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined; // not JSON: `body` shows the text
  }
  return { status: response.status, headers: response.headers, text, json, body: json ?? text };
}
