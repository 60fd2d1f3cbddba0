import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '@push/testing';

// GET /openapi.json is generated from the contract's schemas; this checks that it covers the contract:
// every route of the product contract (Part 1's table) and every error code the API can answer.

let api: TestApi;
let doc: any;
beforeAll(async () => {
  api = await startTestApi('openapi', { PUSH_MAX_CLIENTS: '5000' });
  const res = await fetch(`${api.url}/openapi.json`); // no key: the document is public
  expect(res.status).toBe(200);
  doc = await res.json();
});
afterAll(() => api.close());

/** The routes of the contract's "HTTP API" table (spec/contract.md, Part 1), and Part 2's that exist. */
const contractRoutes = [
  ['post', '/push/push2clients'],
  ['post', '/push/tokens'],
  ['delete', '/push/tokens'],
  ['get', '/push/clients/{client}/tokens'],
  ['get', '/push/jobs/{jobId}'],
  ['delete', '/push/jobs/{jobId}'],
  ['put', '/push/clients/{client}'],
  ['post', '/admin/apps'],
  ['get', '/admin/apps'],
  ['get', '/admin/apps/{id}'],
  ['patch', '/admin/apps/{id}'],
  ['delete', '/admin/apps/{id}'],
  ['post', '/admin/apps/{id}/keys'],
  ['delete', '/admin/apps/{id}/keys/{keyId}'],
  ['get', '/push/jobs/{jobId}/results'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['get', '/metrics'],
] as const;

/** Every `[status, code]` the API's source answers with, outside the operators' pages under /admin (its apps API included). */
function answeredCodes(): [number, string][] {
  const src = join(__dirname, '../src');
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts') && (!f.startsWith('admin') || f === join('admin', 'apps-api.ts')),
  );
  files.push('../../../packages/metrics/src/server.ts');
  const found: [number, string][] = [];
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    for (const m of text.matchAll(/(?:ApiError\(|failure\(|\[)\s*(\d{3}),\s*'([A-Z][A-Z_]+)'/g)) found.push([Number(m[1]), m[2]!]);
  }
  return found;
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Push dispatch service');
  });

  it.each(contractRoutes)('documents the contract route %s %s, with its success envelope', (method, path) => {
    const operation = doc.paths[path]?.[method];
    expect(operation).toBeDefined();
    expect(operation.responses['200']).toBeDefined();
  });

  it('documents every error code the API answers with, under its status, in some route', () => {
    const codes = answeredCodes();
    expect(codes.length).toBeGreaterThan(20);
    const documented = new Set<string>();
    for (const item of Object.values<any>(doc.paths))
      for (const operation of Object.values<any>(item))
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          const schema = response.content?.['application/json']?.schema;
          for (const code of schema?.properties?.error?.properties?.code?.enum ?? []) documented.add(`${status} ${code}`);
        }
    const catalogue = new Set(doc.components.schemas.ErrorCode.enum);
    for (const [status, code] of codes) {
      expect([code, catalogue.has(code)]).toEqual([code, true]);
      // Codes no route answers in particular (an unknown path) are in the catalogue only.
      if (code !== 'NOT_FOUND') expect([`${status} ${code}`, documented.has(`${status} ${code}`)]).toEqual([`${status} ${code}`, true]);
    }
  });

  it("takes its request bodies from the contract's schemas (this deployment's PUSH_MAX_CLIENTS included)", () => {
    const schema = doc.paths['/push/push2clients'].post.requestBody.content['application/json'].schema;
    expect(schema.properties.clients.maxItems).toBe(5000);
    expect(schema.required).toEqual(['clients', 'payload']);
    expect(schema.properties.payload.additionalProperties).toBe(false);
    const results = doc.paths['/push/jobs/{jobId}/results'].get.parameters.map((p: any) => p.name);
    expect(results).toEqual(['jobId', 'status', 'limit', 'cursor']);
  });
});
