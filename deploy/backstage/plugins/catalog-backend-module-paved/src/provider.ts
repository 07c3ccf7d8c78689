/**
 * An entity provider that reads Paved's services with its own credentials and keeps Backstage's
 * catalog in step: live services as Components (with their Resources), nothing for failed or
 * deprovisioned ones; Paved's Group/System entities only when asked for (the organisation owns those).
 */
import { LoggerService, SchedulerServiceTaskRunner } from '@backstage/backend-plugin-api';
import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  Entity,
} from '@backstage/catalog-model';
import { EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';

export const STATE_ANNOTATION = 'paved.dev/state';
export const SERVICE_ANNOTATION = 'paved.dev/service';
export const SERVICE_URL_ANNOTATION = 'paved.dev/service-url';
const LIVE_STATES = new Set(['active']);

export interface PavedEntityProviderOptions {
  baseUrl: string;
  publicUrl?: string;
  token: string;
  includeOrganization?: boolean;
  logger: LoggerService;
  taskRunner?: SchedulerServiceTaskRunner;
  fetch?: typeof fetch;
}

export class PavedEntityProvider implements EntityProvider {
  private readonly baseUrl: string;
  private readonly publicUrl: string;
  private connection?: EntityProviderConnection;

  constructor(private readonly options: PavedEntityProviderOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.publicUrl = (options.publicUrl ?? options.baseUrl).replace(/\/+$/, '');
  }

  getProviderName(): string {
    return `paved:${this.publicUrl}`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.taskRunner?.run({
      id: `${this.getProviderName()}:refresh`,
      fn: async () => {
        try {
          await this.refresh();
        } catch (error) {
          this.options.logger.error(`Paved entity refresh failed: ${(error as Error).message}`);
        }
      },
    });
  }

  /** Reads every service from Paved and replaces what this provider emitted before. */
  async refresh(): Promise<{ emitted: number; skipped: number }> {
    if (!this.connection) {
      throw new Error('PavedEntityProvider is not connected');
    }
    const entities = await this.read();
    const { kept, skipped } = this.select(entities);
    const locationKey = this.getProviderName();
    await this.connection.applyMutation({
      type: 'full',
      entities: kept.map(entity => ({ entity, locationKey })),
    });
    this.options.logger.info(
      `Paved: ${kept.length} entities in the catalog, ${skipped} not live or not ours to emit`,
    );
    return { emitted: kept.length, skipped };
  }

  private async read(): Promise<Entity[]> {
    const fetchImpl = this.options.fetch ?? fetch;
    const response = await fetchImpl(`${this.baseUrl}/api/backstage/entities`, {
      headers: { authorization: `Bearer ${this.options.token}`, accept: 'application/json' },
    });
    if (!response.ok) {
      const text = await response.text();
      let message = text.slice(0, 300);
      try {
        message = JSON.parse(text)?.error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new Error(`Paved answered HTTP ${response.status}: ${message}`);
    }
    const body = (await response.json()) as { items?: Entity[] };
    return body.items ?? [];
  }

  private select(entities: Entity[]): { kept: Entity[]; skipped: number } {
    const live = new Set<string>();
    for (const entity of entities) {
      if (entity.kind === 'Component' && isLive(entity)) {
        live.add(entity.metadata.name);
      }
    }
    const kept: Entity[] = [];
    for (const entity of entities) {
      if (this.keeps(entity, live)) {
        kept.push(this.withLocation(entity));
      }
    }
    return { kept, skipped: entities.length - kept.length };
  }

  private keeps(entity: Entity, live: Set<string>): boolean {
    switch (entity.kind) {
      case 'Component':
        return live.has(entity.metadata.name);
      case 'Resource': {
        const service = entity.metadata.annotations?.[SERVICE_ANNOTATION]?.replace(/^services\//, '');
        return service !== undefined && live.has(service);
      }
      case 'Group':
      case 'System':
        return Boolean(this.options.includeOrganization);
      default:
        return false;
    }
  }

  private withLocation(entity: Entity): Entity {
    const location = `url:${this.publicUrl}/api/backstage/entities`;
    const annotations: Record<string, string> = {
      ...entity.metadata.annotations,
      [ANNOTATION_LOCATION]: location,
      [ANNOTATION_ORIGIN_LOCATION]: location,
    };
    if (entity.kind === 'Component') {
      annotations[SERVICE_URL_ANNOTATION] = `${this.publicUrl}/api/services/${entity.metadata.name}`;
    }
    return { ...entity, metadata: { ...entity.metadata, annotations } };
  }
}

function isLive(entity: Entity): boolean {
  const state = (entity.metadata.annotations?.[STATE_ANNOTATION] ?? '').toLowerCase().replace(/^state_/, '');
  return LIVE_STATES.has(state);
}
