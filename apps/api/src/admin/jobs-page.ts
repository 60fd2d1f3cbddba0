import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router, type Response } from 'express';

// The job-status page: plain HTML, CSS and one browser script (static/jobs.*, linted and formatted with
// the rest), no build step but a copy into dist/. Read once at start-up.
const file = (name: string) => readFileSync(join(__dirname, 'static', name), 'utf8');
const assets = { html: file('jobs.html'), css: file('jobs.css'), script: file('jobs.js') };

/** `GET /jobs` (the page), `/jobs.js`, `/jobs.css`: static, with a strict Content-Security-Policy. */
export function jobsPage(): Router {
  const router = Router();
  const send = (type: string, body: string) => (_req: unknown, res: Response) => {
    res
      .set({
        'Content-Type': `${type}; charset=utf-8`,
        'Cache-Control': 'no-cache',
        'Content-Security-Policy':
          "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'",
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      })
      .send(body);
  };
  router.get('/jobs', send('text/html', assets.html));
  router.get('/jobs.js', send('text/javascript', assets.script));
  router.get('/jobs.css', send('text/css', assets.css));
  return router;
}
