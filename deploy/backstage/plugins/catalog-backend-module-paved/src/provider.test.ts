import http from 'node:http';
import { AddressInfo } from 'node:net';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { catalogModulePaved } from './module';
import { PavedEntityProvider } from './provider';

function component(name: string, state: string) {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations: { 'paved.dev/state': state } },
    spec: { type: 'service', lifecycle: 'production', owner: 'group:default/payments', system: 'payments' },
  };
}

const ENTITIES = [
  component('orders', 'active'),
  component('broken', 'failed'),
  component('gone', 'deprovisioned'),
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: { name: 'orders-database', annotations: { 'paved.dev/service': 'services/orders' } },
    spec: { type: 'database', owner: 'group:default/payments' },
  },
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: { name: 'broken-database', annotations: { 'paved.dev/service': 'services/broken' } },
    spec: { type: 'database', owner: 'group:default/payments' },
  },
  { apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: 'payments' }, spec: { type: 'team', children: [] } },
  { apiVersion: 'backstage.io/v1alpha1', kind: 'System', metadata: { name: 'payments' }, spec: { owner: 'group:default/payments' } },
];

describe('PavedEntityProvider', () => {
  let server: http.Server;
  let url: string;
  const seen: http.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.headers.authorization !== 'Bearer provider-token') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { name: 'AuthenticationError', message: 'the bearer token is not valid' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: ENTITIES }));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  function connection() {
    const mutations: any[] = [];
    return { mutations, applyMutation: async (m: any) => void mutations.push(m), refresh: async () => {} };
  }

  it('emits live services and their resources only, with its own credentials and location', async () => {
    const provider = new PavedEntityProvider({
      baseUrl: url,
      publicUrl: 'https://paved.example',
      token: 'provider-token',
      logger: mockServices.logger.mock(),
    });
    const conn = connection();
    await provider.connect(conn);
    expect(await provider.refresh()).toEqual({ emitted: 2, skipped: 5 });
    const [mutation] = conn.mutations;
    expect(mutation.type).toBe('full');
    const names = mutation.entities.map((e: any) => `${e.entity.kind}:${e.entity.metadata.name}`);
    expect(names).toEqual(['Component:orders', 'Resource:orders-database']);
    const orders = mutation.entities[0].entity;
    expect(orders.metadata.annotations['backstage.io/managed-by-location']).toBe(
      'url:https://paved.example/api/backstage/entities',
    );
    expect(orders.metadata.annotations['paved.dev/service-url']).toBe('https://paved.example/api/services/orders');
    expect(mutation.entities[0].locationKey).toBe('paved:https://paved.example');
    expect(seen.at(-1)?.authorization).toBe('Bearer provider-token');
  });

  it('emits Group and System only when asked', async () => {
    const provider = new PavedEntityProvider({
      baseUrl: url,
      token: 'provider-token',
      includeOrganization: true,
      logger: mockServices.logger.mock(),
    });
    const conn = connection();
    await provider.connect(conn);
    await provider.refresh();
    const kinds = conn.mutations[0].entities.map((e: any) => e.entity.kind);
    expect(kinds).toEqual(['Component', 'Resource', 'Group', 'System']);
  });

  it("fails with Paved's message when Paved refuses, changing nothing", async () => {
    const provider = new PavedEntityProvider({ baseUrl: url, token: 'wrong', logger: mockServices.logger.mock() });
    const conn = connection();
    await provider.connect(conn);
    await expect(provider.refresh()).rejects.toThrow('Paved answered HTTP 401: the bearer token is not valid');
    expect(conn.mutations).toHaveLength(0);
  });

  it('is added to the catalog by the module, configured from app-config', async () => {
    const providers: any[] = [];
    await startTestBackend({
      extensionPoints: [[catalogProcessingExtensionPoint, { addEntityProvider: (...p: any[]) => providers.push(...p.flat()) }]],
      features: [
        catalogModulePaved,
        mockServices.rootConfig.factory({
          data: { paved: { baseUrl: url, token: 'module-token', catalog: { token: 'provider-token', schedule: { frequency: { seconds: 30 }, timeout: { seconds: 10 } } } } },
        }),
      ],
    });
    expect(providers).toHaveLength(1);
    expect(providers[0]).toBeInstanceOf(PavedEntityProvider);
    expect(providers[0].getProviderName()).toBe(`paved:${url}`);
  });
});
