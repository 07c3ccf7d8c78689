/**
 * A small client of Paved's gateway HTTP API: create (and validate-only create), deploy, rollback,
 * operations, and Paved's error answers (Backstage's error shape) as typed errors.
 */

/** The Backstage user a request is made for, and the group refs that give the user's teams. */
export interface Actor {
  user: string;
  groups: string[];
}

export interface FieldViolation {
  field: string;
  description: string;
}

export interface PolicyViolation {
  policy: string;
  resource?: string;
  message: string;
  severity?: string;
  enforcement_level?: string;
}

export interface Step {
  name: string;
  state: string;
  attempts: number;
  error?: string | null;
  detail?: string | null;
}

export interface Operation {
  id: string;
  name: string;
  kind: string;
  service: string;
  team: string;
  requester: string;
  done: boolean;
  status: 'running' | 'succeeded' | 'failed';
  steps: Step[];
  result?: Record<string, any> | null;
  error?: { code: string; message: string } | null;
}

export interface Money {
  amount: number;
  currency: string;
}

export interface Link {
  title: string;
  url: string;
}

export interface PolicySummary {
  outcome: string;
  decision: string;
  override_applied?: boolean;
  warnings: PolicyViolation[];
}

export interface CreateServiceBody {
  name: string;
  team: string;
  template: string;
  environment?: string;
  parameters: Record<string, unknown>;
  validate_only?: boolean;
}

export interface CreateServiceAccepted {
  name: string;
  team: string;
  operation: string;
  endpoints: string[];
  dashboards: Link[];
  estimated_monthly_cost?: Money | null;
  policy?: PolicySummary | null;
}

export interface CreateServiceValidated {
  validate_only: true;
  name: string;
  team: string;
  template: string;
  environment: string;
  resources: { name: string; type: string }[];
  endpoints: string[];
  dashboards: Link[];
  estimated_monthly_cost?: Money | null;
  quota: { quota: string; current: number; requested: number; limit: number; allowed: boolean }[];
  policy?: PolicySummary | null;
}

export interface OperationAccepted {
  id: string;
  operation: string;
  service: string;
  workflow: string;
}

/** Paved's refusal or failure, with everything its answer carried. */
export class PavedApiError extends Error {
  readonly status: number;
  readonly errorName: string;
  readonly details: Record<string, any>;

  constructor(status: number, errorName: string, message: string, details: Record<string, any>) {
    super(message);
    this.name = 'PavedApiError';
    this.status = status;
    this.errorName = errorName;
    this.details = details;
  }

  get fieldViolations(): FieldViolation[] {
    return Array.isArray(this.details.fieldViolations) ? this.details.fieldViolations : [];
  }

  get policyViolations(): PolicyViolation[] {
    return Array.isArray(this.details.violations) ? this.details.violations : [];
  }
}

export interface RequestOptions {
  actor?: Actor;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface PavedClientOptions {
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
}

export class PavedClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: PavedClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? fetch;
  }

  createService(
    body: CreateServiceBody,
    options: RequestOptions,
  ): Promise<CreateServiceAccepted | CreateServiceValidated> {
    return this.request('POST', '/api/services', { ...options, body });
  }

  runWorkflow(
    service: string,
    workflow: 'deploy' | 'rollback',
    body: { version?: string; image?: string; environment?: string },
    options: RequestOptions,
  ): Promise<OperationAccepted> {
    return this.request(
      'POST',
      `/api/services/${encodeURIComponent(service)}/${workflow}`,
      { ...options, body },
    );
  }

  getOperation(id: string, options: RequestOptions): Promise<Operation> {
    return this.request('GET', `/api/operations/${encodeURIComponent(id)}`, options);
  }

  cancelOperation(id: string, options: RequestOptions): Promise<Operation> {
    return this.request('POST', `/api/operations/${encodeURIComponent(id)}/cancel`, options);
  }

  /** The operation's server-sent events (`step`, then `done` or `error`). */
  async *operationEvents(
    id: string,
    options: RequestOptions,
  ): AsyncGenerator<{ event: string; data: any }> {
    const response = await this.fetchImpl(
      `${this.baseUrl}/api/operations/${encodeURIComponent(id)}/events`,
      {
        headers: { ...this.headers(options), accept: 'text/event-stream' },
        signal: options.signal,
      },
    );
    if (!response.ok || !response.body) {
      throw await this.errorOf(response);
    }
    yield* parseEventStream(response.body);
  }

  /** Every list page of Paved's services visible to this client's own credentials. */
  async request<T>(
    method: string,
    path: string,
    options: RequestOptions & { body?: unknown },
  ): Promise<T> {
    const headers: Record<string, string> = this.headers(options);
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    if (!response.ok) {
      throw await this.errorOf(response);
    }
    return (await response.json()) as T;
  }

  private headers(options: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (options.actor) {
      headers['x-paved-on-behalf-of'] = options.actor.user;
      headers['x-paved-on-behalf-of-groups'] = options.actor.groups.join(',');
    }
    if (options.idempotencyKey) {
      headers['idempotency-key'] = options.idempotencyKey;
    }
    return headers;
  }

  private async errorOf(response: Response): Promise<PavedApiError> {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      const error = body?.error ?? {};
      const { name, message, ...details } = error;
      return new PavedApiError(
        response.status,
        String(name ?? 'Error'),
        String(message ?? `HTTP ${response.status}`),
        details,
      );
    } catch {
      return new PavedApiError(
        response.status,
        'Error',
        `Paved answered HTTP ${response.status}: ${text.slice(0, 200)}`,
        {},
      );
    }
  }
}

/** Parses a `text/event-stream` body into its events (data parsed as JSON when it is JSON). */
export async function* parseEventStream(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: any }> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event = parseBlock(block);
        if (event) {
          yield event;
        }
        boundary = buffer.indexOf('\n\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function parseBlock(block: string): { event: string; data: any } | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  const text = data.join('\n');
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}
