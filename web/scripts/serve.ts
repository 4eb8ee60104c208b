/**
 * A minimal static file server for web/dist (what any static server does: files by path, index.html for a
 * directory, the right MIME types, nothing else), bound to 127.0.0.1. Used by the browser test and by
 * `npm run web` (build, then serve and print the address).
 *
 *   npx tsx web/scripts/serve.ts [--port P] [--dir DIR]
 */
import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_OUT_DIR } from './build.ts';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface StaticServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Serve `dir` on 127.0.0.1:`port` (0: any free port). */
export const serveStatic = (dir: string = DEFAULT_OUT_DIR, port = 0): Promise<StaticServer> => {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
        let file = normalize(join(root, path));
        if (file !== root && !file.startsWith(root + sep)) {
          res.writeHead(403).end();
          return;
        }
        if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
      } catch {
        if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    })();
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      const p = typeof a === 'object' && a !== null ? a.port : port;
      ok({
        url: `http://127.0.0.1:${p}/`,
        server,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
};

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const port = Number(arg('--port') ?? 8080);
  serveStatic(resolve(arg('--dir') ?? DEFAULT_OUT_DIR), port).then(
    (s) => console.log(`hplb planner page: ${s.url}  (and ${s.url}?run=default plans the built-in default; Ctrl-C stops)`),
    (e: unknown) => {
      console.error(`web: could not serve on 127.0.0.1:${port}: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
