/**
 * `paved:service:deploy` and `paved:service:rollback`: run a service's workflow in Paved for the user
 * who started the task, and follow it to its end.
 */
import { parseEntityRef } from '@backstage/catalog-model';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { PavedApiError, PavedClient } from '../client';
import { PavedSettings } from '../config';
import { followOperation } from '../follow';
import { actorOf } from '../identity';
import { operationFailure, refusal } from '../report';
import { cancelOnAbort, idempotencyKey } from './common';

export function createPavedWorkflowAction(options: {
  client: PavedClient;
  settings: PavedSettings;
  workflow: 'deploy' | 'rollback';
}) {
  const { client, settings, workflow } = options;
  return createTemplateAction({
    id: `paved:service:${workflow}`,
    description: `Runs a Paved service's ${workflow} workflow for the user who started the task and waits for its end.`,
    schema: {
      input: {
        service: z =>
          z.string().describe('The service: its name or its Component entity ref.'),
        version: z => z.string().optional().describe('Version to deploy.'),
        image: z => z.string().optional().describe('Container image to deploy.'),
        environment: z => z.string().optional().describe('Environment.'),
      },
      output: {
        operation: z => z.string(),
        operationUrl: z => z.string(),
        status: z => z.string(),
      },
    },
    async handler(ctx) {
      const actor = actorOf(ctx.user);
      const service = ctx.input.service.includes(':')
        ? parseEntityRef(ctx.input.service, { defaultKind: 'component' }).name
        : ctx.input.service;
      const what = `the ${workflow} of service '${service}'`;
      ctx.logger.info(`Starting the ${workflow} of service '${service}' as ${actor.user}`);
      let operationId: string;
      try {
        const accepted = await client.runWorkflow(
          service,
          workflow,
          { version: ctx.input.version, image: ctx.input.image, environment: ctx.input.environment },
          { actor, idempotencyKey: idempotencyKey(ctx.task.id, ctx.step?.id), signal: ctx.signal },
        );
        operationId = accepted.id;
      } catch (error) {
        if (error instanceof PavedApiError) {
          throw refusal(error, what, ctx.logger);
        }
        throw error;
      }
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
      ctx.output('status', operation.status);
      if (operation.status !== 'succeeded') {
        throw operationFailure(operation, what, ctx.logger);
      }
      const skipped = operation.steps.filter(step => step.state.toUpperCase() === 'SKIPPED');
      if (skipped.length) {
        ctx.logger.warn(
          `${skipped.length} step(s) had nothing configured to run: ${skipped.map(s => s.name).join(', ')}`,
        );
      }
      ctx.logger.info(`the ${workflow} of service '${service}' succeeded`);
    },
  });
}
