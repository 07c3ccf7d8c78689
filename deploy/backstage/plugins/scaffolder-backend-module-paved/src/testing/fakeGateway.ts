/**
 * A stand-in for Paved's gateway over real HTTP, for the actions' unit tests: it records each request
 * and answers from a script. (The end-to-end test runs the real gateway.)
 */
import http from 'node:http';
import { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export type Route = (request: Recorded, response: http.ServerResponse) => void | Promise<void>;

export class FakeGateway {
  readonly requests: Recorded[] = [];
  private readonly routes = new Map<string, Route>();
  private server?: http.Server;
  url = '';

  on(method: string, path: string, route: Route): this {
    this.routes.set(`${method} ${path}`, route);
    return this;
  }

  async start(): Promise<void> {
    this.server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: Recorded = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      this.requests.push(recorded);
      const route = this.routes.get(`${recorded.method} ${recorded.path}`);
      if (!route) {
        json(res, 404, { error: { name: 'NotFoundError', message: `no route ${recorded.path}` } });
        return;
      }
      await route(recorded, res);
    });
    await new Promise<void>(resolve => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>(resolve => this.server?.close(() => resolve()));
  }
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function sse(
  res: http.ServerResponse,
  events: { event: string; data: unknown; delayMs?: number }[],
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [index, item] of events.entries()) {
    if (item.delayMs) await new Promise(resolve => setTimeout(resolve, item.delayMs));
    res.write(`event: ${item.event}\r\nid: ${index}\r\ndata: ${JSON.stringify(item.data)}\r\n\r\n`);
  }
  res.end();
}

/** A logger that keeps its lines, for asserting what the task log shows. */
export function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  const logger: any = {
    lines,
    text: () => lines.map(l => `${l.level}: ${l.message}`).join('\n'),
    child: () => logger,
  };
  for (const level of ['error', 'warn', 'info', 'debug']) {
    logger[level] = (message: string) => {
      lines.push({ level, message });
    };
  }
  return logger;
}
