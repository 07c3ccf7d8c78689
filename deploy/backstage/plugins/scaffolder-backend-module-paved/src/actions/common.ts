/** What the Paved actions share: idempotency keys and cancelling an operation with its task. */
import { LoggerService } from '@backstage/backend-plugin-api';
import { Actor, PavedClient } from '../client';
import { taskError } from '../report';

/** The same task step always sends the same key, so a retried or recovered task resumes its operation. */
export function idempotencyKey(taskId: string, stepId: string | undefined): string {
  return `backstage-task-${taskId}-step-${stepId ?? 'main'}`.replace(/[^\x21-\x7e]/g, '_').slice(0, 200);
}

/** Runs ``follow``; when the task is cancelled, cancels the Paved operation too. */
export async function cancelOnAbort<T>(
  options: {
    client: PavedClient;
    operationId: string;
    actor: Actor;
    logger: LoggerService;
    signal?: AbortSignal;
  },
  follow: () => Promise<T>,
): Promise<T> {
  const { client, operationId, actor, logger, signal } = options;
  const onAbort = () => {
    logger.warn(`task cancelled: cancelling Paved operation ${operationId}`);
    client.cancelOperation(operationId, { actor }).then(
      operation => logger.info(`Paved operation ${operationId} is ${operation.status}; cancel requested`),
      error => logger.error(`could not cancel Paved operation ${operationId}: ${error.message}`),
    );
  };
  if (signal?.aborted) {
    onAbort();
    throw taskError('the task was cancelled');
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await follow();
  } catch (error) {
    if (signal?.aborted) {
      throw taskError(`the task was cancelled; Paved operation ${operationId} was asked to stop`);
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
