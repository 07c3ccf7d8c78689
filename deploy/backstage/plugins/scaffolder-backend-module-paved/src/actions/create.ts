/**
 * `paved:service:create`: validates and creates a service with Paved for the user who started the
 * task, and follows the operation until the service is ACTIVE (or the operation fails).
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  CreateServiceAccepted,
  CreateServiceValidated,
  Link,
  PavedApiError,
  PavedClient,
  PolicySummary,
} from '../client';
import { PavedSettings } from '../config';
import { followOperation } from '../follow';
import { actorOf, teamOf } from '../identity';
import { money, operationFailure, policyLine, refusal } from '../report';
import { cancelOnAbort, idempotencyKey } from './common';

export const CREATE_ACTION_ID = 'paved:service:create';

export function createPavedServiceAction(options: { client: PavedClient; settings: PavedSettings }) {
  const { client, settings } = options;
  return createTemplateAction({
    id: CREATE_ACTION_ID,
    description:
      'Creates a service from a Paved golden path for the user who started the task and waits until it is active. ' +
      'In a dry run, runs every check of the create (fields, parameters, name, cost, quota, policy) and creates nothing.',
    supportsDryRun: true,
    schema: {
      input: {
        name: z => z.string().describe('Service name (a DNS label).'),
        team: z =>
          z.string().describe("Owner team: its name, or its group entity ref (OwnerPicker's value)."),
        template: z => z.string().describe('Paved golden path, e.g. web-service.'),
        environment: z => z.string().optional().describe('Environment, default development.'),
        parameters: z =>
          z.record(z.unknown()).optional().describe("The golden path's parameters."),
        formFields: z =>
          z
            .record(z.string())
            .optional()
            .describe(
              "The form field behind each request field (e.g. {name: 'service_name'}), so errors name what the user filled in.",
            ),
      },
      output: {
        entityRef: z => z.string().describe("The service's Component in Backstage's catalog."),
        operation: z => z.string().describe('The Paved operation (empty in a dry run).'),
        operationUrl: z => z.string().describe('Absolute URL of the operation in Paved.'),
        serviceUrl: z => z.string().describe("Absolute URL of the service's page."),
        links: z =>
          z.array(z.object({ title: z.string(), url: z.string() })).describe('Service links.'),
        estimatedMonthlyCost: z => z.number().describe('Estimated monthly cost.'),
        currency: z => z.string(),
        summary: z => z.string().describe('Cost and policy outcome, in words.'),
        policyWarnings: z => z.array(z.string()).describe('Policy warnings the create passed with.'),
      },
    },
    async handler(ctx) {
      const actor = actorOf(ctx.user);
      const team = teamOf(ctx.input.team, settings.groupNamespace);
      const formFields = { team: 'team', ...(ctx.input.formFields ?? {}) };
      const body = {
        name: ctx.input.name,
        team,
        template: ctx.input.template,
        environment: ctx.input.environment ?? 'development',
        parameters: (ctx.input.parameters ?? {}) as Record<string, unknown>,
        validate_only: Boolean(ctx.isDryRun),
      };
      const what = `${ctx.isDryRun ? 'checking' : 'creating'} service '${body.name}'`;
      ctx.logger.info(
        `${ctx.isDryRun ? 'Checking (dry run, nothing is created)' : 'Creating'} service '${body.name}' ` +
          `for team '${team}' from golden path '${body.template}' as ${actor.user}`,
      );
      let answer: CreateServiceAccepted | CreateServiceValidated;
      try {
        answer = await client.createService(body, {
          actor,
          idempotencyKey: ctx.isDryRun ? undefined : idempotencyKey(ctx.task.id, ctx.step?.id),
          signal: ctx.signal,
        });
      } catch (error) {
        if (error instanceof PavedApiError) {
          throw refusal(error, what, ctx.logger, formFields);
        }
        throw error;
      }
      const entityRef = `component:default/${body.name}`;
      const serviceUrl = settings.appBaseUrl
        ? `${settings.appBaseUrl}/catalog/default/component/${body.name}`
        : `${settings.publicUrl}/api/services/${body.name}`;
      const policyWarnings = logPolicy(answer.policy, ctx.logger);
      const cost = answer.estimated_monthly_cost;
      ctx.logger.info(`estimated monthly cost: ${money(cost)}`);
      const summary =
        `Estimated monthly cost ${money(cost)}; policy ${answer.policy?.outcome ?? 'unknown'}` +
        (policyWarnings.length ? ` with ${policyWarnings.length} warning(s)` : '');
      ctx.output('estimatedMonthlyCost', cost?.amount ?? 0);
      ctx.output('currency', cost?.currency ?? 'USD');
      ctx.output('policyWarnings', policyWarnings);
      ctx.output('entityRef', entityRef);
      ctx.output('serviceUrl', serviceUrl);

      if ('validate_only' in answer && answer.validate_only) {
        for (const resource of answer.resources) {
          ctx.logger.info(`would create resource ${resource.name} (${resource.type})`);
        }
        for (const check of answer.quota) {
          ctx.logger.info(
            `quota ${check.quota}: ${check.current} in use + ${check.requested} requested of ${check.limit}`,
          );
        }
        ctx.logger.info(`dry run: Paved accepts service '${body.name}'; nothing was created`);
        ctx.output('operation', '');
        ctx.output('operationUrl', '');
        ctx.output('links', linksOf(answer.dashboards, undefined));
        ctx.output('summary', `${summary}. Dry run: nothing was created.`);
        return;
      }

      const accepted = answer as CreateServiceAccepted;
      const operationId = accepted.operation.replace(/^operations\//, '');
      const operationUrl = `${settings.publicUrl}/api/operations/${operationId}`;
      ctx.logger.info(`Paved accepted the request: operation ${operationId} (${operationUrl})`);
      ctx.output('operation', operationId);
      ctx.output('operationUrl', operationUrl);
      const operation = await cancelOnAbort(
        { client, operationId, actor, logger: ctx.logger, signal: ctx.signal },
        () =>
          followOperation({
            client,
            operationId,
            actor,
            logger: ctx.logger,
            signal: ctx.signal,
            pollIntervalMs: settings.pollIntervalMs,
            timeoutMs: settings.followTimeoutMs,
          }),
      );
      if (operation.status !== 'succeeded') {
        throw operationFailure(operation, `creating service '${body.name}'`, ctx.logger);
      }
      const result = operation.result ?? {};
      const dashboards: Link[] = Array.isArray(result.dashboards) ? result.dashboards : accepted.dashboards;
      const documentation = typeof result.documentation_url === 'string' ? result.documentation_url : undefined;
      ctx.output('links', linksOf(dashboards, documentation, operationUrl));
      ctx.output('summary', summary);
      ctx.logger.info(`service '${body.name}' is active`);
    },
  });
}

function logPolicy(policy: PolicySummary | null | undefined, logger: LoggerService): string[] {
  if (!policy) {
    return [];
  }
  logger.info(
    `policy decision: ${policy.outcome}${policy.override_applied ? ' (override applied)' : ''}`,
  );
  const warnings = policy.warnings.map(policyLine);
  warnings.forEach(line => logger.warn(line));
  return warnings;
}

function linksOf(dashboards: Link[], documentation?: string, operationUrl?: string): Link[] {
  const links = dashboards
    .filter(link => /^https?:\/\//.test(link.url))
    .map(link => ({ title: link.title, url: link.url }));
  if (documentation && /^https?:\/\//.test(documentation)) {
    links.push({ title: 'Documentation', url: documentation });
  }
  if (operationUrl) {
    links.push({ title: 'Paved operation', url: operationUrl });
  }
  return links;
}
