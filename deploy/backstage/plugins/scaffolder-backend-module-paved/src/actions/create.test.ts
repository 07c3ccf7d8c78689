import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { PavedClient } from '../client';
import { readPavedSettings } from '../config';
import { FakeGateway, json, recordingLogger, sse } from '../testing/fakeGateway';
import { createPavedServiceAction } from './create';

const USER = {
  ref: 'user:default/alice',
  entity: {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name: 'alice', namespace: 'default' },
    spec: { memberOf: ['payments'] },
    relations: [
      { type: 'memberOf', targetRef: 'group:default/payments' },
      { type: 'memberOf', targetRef: 'group:other/search' },
    ],
  },
} as any;

const INPUT = {
  name: 'orders',
  team: 'group:default/payments',
  template: 'web-service',
  environment: 'development',
  parameters: { language: 'python', database: 'none' },
  formFields: { name: 'service_name' },
};

const ACCEPTED = {
  id: 'orders',
  name: 'orders',
  team: 'payments',
  environment: 'development',
  status: 'provisioning',
  operation: 'operations/op-1',
  endpoints: [],
  dashboards: [],
  documentation: null,
  estimated_monthly_cost: { amount: 61.32, currency: 'USD' },
  policy: {
    outcome: 'ALLOW_WITH_WARNINGS',
    decision: 'decisions/d1',
    warnings: [
      { policy: 'cost-limit', resource: 'compute', message: 'over 50 USD', enforcement_level: 'advisory' },
    ],
  },
};

function step(name: string, state: string, extra: object = {}) {
  return { name, state, attempts: 1, error: null, detail: null, ...extra };
}

function operation(status: string, extra: object = {}) {
  return {
    id: 'op-1',
    name: 'operations/op-1',
    kind: 'provision',
    service: 'orders',
    team: 'payments',
    requester: 'user:default/alice',
    done: status !== 'running',
    status,
    steps: [step('commit_manifests', 'SUCCEEDED'), step('mark_active', 'SUCCEEDED')],
    result: {
      dashboards: [{ title: 'orders overview', url: 'https://grafana.example/d/orders' }],
      documentation_url: 'https://docs.example/orders',
    },
    error: null,
    ...extra,
  };
}

describe('paved:service:create', () => {
  let gateway: FakeGateway;

  beforeEach(async () => {
    gateway = new FakeGateway();
    await gateway.start();
  });
  afterEach(() => gateway.stop());

  function action() {
    const settings = readPavedSettings(
      new ConfigReader({
        app: { baseUrl: 'https://backstage.example' },
        paved: { baseUrl: gateway.url, publicUrl: 'https://paved.example', token: 'delegate-token-123' },
      }),
    );
    return createPavedServiceAction({ client: new PavedClient({ baseUrl: settings.baseUrl, token: settings.token }), settings });
  }

  function context(extra: object = {}) {
    const logger = recordingLogger();
    const outputs: Record<string, unknown> = {};
    const ctx = {
      ...createMockActionContext({ input: INPUT as any, user: USER, logger }),
      output: (name: string, value: unknown) => {
        outputs[name] = value;
      },
      task: { id: 'task-42' },
      step: { id: 'create', name: 'Create' },
      ...extra,
    } as any;
    return { ctx, logger, outputs };
  }

  it('creates for the user, follows every step to the end and outputs links, cost and warnings', async () => {
    gateway
      .on('POST', '/api/services', (_req, res) => json(res, 202, ACCEPTED))
      .on('GET', '/api/operations/op-1/events', (_req, res) =>
        sse(res, [
          { event: 'step', data: step('commit_manifests', 'RUNNING') },
          { event: 'step', data: step('commit_manifests', 'SUCCEEDED', { detail: 'commit abc123' }) },
          { event: 'step', data: step('mark_active', 'SUCCEEDED') },
          { event: 'done', data: operation('succeeded') },
        ]),
      );
    const { ctx, logger, outputs } = context();
    await action().handler(ctx);

    const create = gateway.requests[0];
    expect(create.headers.authorization).toBe('Bearer delegate-token-123');
    expect(create.headers['x-paved-on-behalf-of']).toBe('user:default/alice');
    expect(create.headers['x-paved-on-behalf-of-groups']).toBe('group:default/payments,group:other/search');
    expect(create.headers['idempotency-key']).toBe('backstage-task-task-42-step-create');
    expect(create.body).toMatchObject({ name: 'orders', team: 'payments', validate_only: false });
    const text = logger.text();
    expect(text).toContain('step commit_manifests: running');
    expect(text).toContain('step commit_manifests: succeeded - commit abc123');
    expect(text.match(/step mark_active: succeeded/g)).toHaveLength(1);
    expect(text).toContain('warn: policy cost-limit [advisory] on compute: over 50 USD');
    expect(outputs).toMatchObject({
      entityRef: 'component:default/orders',
      operation: 'op-1',
      operationUrl: 'https://paved.example/api/operations/op-1',
      serviceUrl: 'https://backstage.example/catalog/default/component/orders',
      estimatedMonthlyCost: 61.32,
      currency: 'USD',
      policyWarnings: ['policy cost-limit [advisory] on compute: over 50 USD'],
    });
    expect(outputs.links).toEqual([
      { title: 'orders overview', url: 'https://grafana.example/d/orders' },
      { title: 'Documentation', url: 'https://docs.example/orders' },
      { title: 'Paved operation', url: 'https://paved.example/api/operations/op-1' },
    ]);
  });

  it("fails with Paved's message when the operation fails", async () => {
    gateway
      .on('POST', '/api/services', (_req, res) => json(res, 202, ACCEPTED))
      .on('GET', '/api/operations/op-1/events', (_req, res) =>
        sse(res, [
          {
            event: 'done',
            data: operation('failed', {
              steps: [step('create_alerts', 'FAILED', { error: 'alerting: DEADLINE_EXCEEDED' })],
              error: { code: 'DEADLINE_EXCEEDED', message: 'create_alerts failed; compensated' },
            }),
          },
        ]),
      );
    const { ctx, logger } = context();
    await expect(action().handler(ctx)).rejects.toThrow(
      "creating service 'orders' failed in Paved: create_alerts failed; compensated",
    );
    expect(logger.text()).toContain('error: step create_alerts: failed - alerting: DEADLINE_EXCEEDED');
  });

  it('lists every field error of a refusal on its own line, naming the form field', async () => {
    gateway.on('POST', '/api/services', (_req, res) =>
      json(res, 400, {
        error: {
          name: 'InputError',
          message: 'the request is invalid: 3 problems',
          fieldViolations: [
            { field: 'name', description: 'must be a DNS label' },
            { field: 'parameters.language', description: "must be one of ['python', 'go'] (enum)" },
            { field: 'parameters.colour', description: 'unknown parameter' },
          ],
        },
        response: { statusCode: 400 },
      }),
    );
    const { ctx, logger } = context();
    await expect(action().handler(ctx)).rejects.toThrow(
      "Paved refused creating service 'orders': the request is invalid: 3 problems (3 field errors, listed above)",
    );
    const errors = logger.lines.filter((l: any) => l.level === 'error').map((l: any) => l.message);
    expect(errors).toEqual([
      "Paved refused creating service 'orders': the request is invalid: 3 problems",
      "field 'service_name': must be a DNS label (name)",
      "field 'language': must be one of ['python', 'go'] (enum) (parameters.language)",
      "field 'colour': unknown parameter (parameters.colour)",
    ]);
  });

  it('reports policy violations with their level, and a quota refusal next to them', async () => {
    gateway.on('POST', '/api/services', (_req, res) =>
      json(res, 403, {
        error: {
          name: 'QuotaExceededError',
          message: 'Quota exceeded',
          quota: 'services',
          current: 3,
          requested: 1,
          limit: 3,
          alsoRefusedBy: [
            {
              name: 'PolicyDeniedError',
              message: 'denied by policy',
              violations: [
                { policy: 'encryption', resource: 'database', message: 'must be encrypted', enforcement_level: 'hard-mandatory' },
              ],
            },
          ],
        },
      }),
    );
    const { ctx, logger } = context();
    await expect(action().handler(ctx)).rejects.toThrow('Quota exceeded');
    const text = logger.text();
    expect(text).toContain('quota services: 3 in use + 1 requested > limit 3');
    expect(text).toContain('also refused: denied by policy');
    expect(text).toContain('policy encryption [hard-mandatory] on database: must be encrypted');
  });

  it('only checks in a dry run: validate_only, no idempotency key, nothing followed', async () => {
    gateway.on('POST', '/api/services', (_req, res) =>
      json(res, 200, {
        validate_only: true,
        name: 'orders',
        team: 'payments',
        template: 'web-service',
        environment: 'development',
        resources: [{ name: 'compute', type: 'compute' }],
        endpoints: [],
        dashboards: [],
        estimated_monthly_cost: { amount: 12.5, currency: 'USD' },
        quota: [{ quota: 'services', current: 1, requested: 1, limit: 10, allowed: true }],
        policy: { outcome: 'ALLOW', decision: 'decisions/d2', warnings: [] },
      }),
    );
    const { ctx, logger, outputs } = context({ isDryRun: true });
    await action().handler(ctx);
    expect(gateway.requests).toHaveLength(1);
    expect(gateway.requests[0].body.validate_only).toBe(true);
    expect(gateway.requests[0].headers['idempotency-key']).toBeUndefined();
    expect(logger.text()).toContain('would create resource compute (compute)');
    expect(logger.text()).toContain('nothing was created');
    expect(outputs).toMatchObject({ operation: '', estimatedMonthlyCost: 12.5 });
  });

  it('cancels the Paved operation when the task is cancelled', async () => {
    const controller = new AbortController();
    let cancelled = false;
    gateway
      .on('POST', '/api/services', (_req, res) => json(res, 202, ACCEPTED))
      .on('GET', '/api/operations/op-1/events', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: step\ndata: ${JSON.stringify(step('commit_manifests', 'RUNNING'))}\n\n`);
        setTimeout(() => controller.abort(), 50);
      })
      .on('POST', '/api/operations/op-1/cancel', (_req, res) => {
        cancelled = true;
        json(res, 202, operation('running'));
      });
    const { ctx } = context({ signal: controller.signal });
    await expect(action().handler(ctx)).rejects.toThrow('the task was cancelled');
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(cancelled).toBe(true);
  });

  it('falls back to polling when the event stream is not available', async () => {
    let polls = 0;
    gateway
      .on('POST', '/api/services', (_req, res) => json(res, 202, ACCEPTED))
      .on('GET', '/api/operations/op-1/events', (_req, res) => json(res, 502, { error: { name: 'BadGatewayError', message: 'no streams here' } }))
      .on('GET', '/api/operations/op-1', (_req, res) => {
        polls += 1;
        json(res, 200, polls < 2 ? operation('running', { steps: [step('commit_manifests', 'RUNNING')] }) : operation('succeeded'));
      });
    const settings = readPavedSettings(
      new ConfigReader({ paved: { baseUrl: gateway.url, token: 't', scaffolder: { pollIntervalMs: 10 } } }),
    );
    const { ctx, logger, outputs } = context();
    await createPavedServiceAction({ client: new PavedClient(settings), settings }).handler(ctx);
    expect(polls).toBe(2);
    expect(logger.text()).toContain('following operation op-1 by polling');
    expect(outputs.serviceUrl).toBe(`${gateway.url}/api/services/orders`);
  });

  it('refuses a task without a user, and a team outside the configured namespace', async () => {
    const { ctx } = context({ user: undefined });
    await expect(action().handler(ctx)).rejects.toThrow('acts for the user who started the task');
    const other = context({ input: { ...INPUT, team: 'group:evilns/payments' } });
    await expect(action().handler(other.ctx)).rejects.toThrow("is not a group of namespace 'default'");
    expect(gateway.requests).toHaveLength(0);
  });
});

describe('task errors', () => {
  it('carry no stack trace into the task log', async () => {
    const { taskError } = await import('../report');
    expect(taskError("Paved refused creating service 'x': nope").stack).toBe(
      "Error: Paved refused creating service 'x': nope",
    );
  });
});
