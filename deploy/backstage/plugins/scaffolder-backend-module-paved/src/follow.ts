/**
 * Following a Paved operation to its end: the gateway's server-sent events when they flow, polling
 * when the stream breaks; every step change logged once, with its detail or error.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { Actor, Operation, PavedClient, Step } from './client';
import { taskError } from './report';

export interface FollowOptions {
  client: PavedClient;
  operationId: string;
  actor: Actor;
  logger: LoggerService;
  signal?: AbortSignal;
  /** Polling interval when the event stream is not available. */
  pollIntervalMs?: number;
  /** Give up (the operation keeps running in Paved) after this long. */
  timeoutMs?: number;
}

/** Logs each step change once; remembers what it logged. */
export class StepLog {
  private readonly seen = new Map<string, string>();

  constructor(private readonly logger: LoggerService) {}

  record(step: Step): void {
    const key = `${step.state}/${step.attempts}`;
    if (this.seen.get(step.name) === key) {
      return;
    }
    this.seen.set(step.name, key);
    const attempt = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
    const note = step.error || step.detail;
    const line = `step ${step.name}: ${step.state.toLowerCase()}${attempt}${note ? ` - ${note}` : ''}`;
    if (step.state.toUpperCase() === 'FAILED') {
      this.logger.error(line);
    } else {
      this.logger.info(line);
    }
  }
}

/** The operation once it is done. Throws when aborted or out of time (the operation is left running). */
export async function followOperation(options: FollowOptions): Promise<Operation> {
  const { client, operationId, actor, logger, signal } = options;
  const steps = new StepLog(logger);
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60 * 1000);
  try {
    for await (const { event, data } of client.operationEvents(operationId, { actor, signal })) {
      if (event === 'step') {
        steps.record(data as Step);
      } else if (event === 'done') {
        const operation = data as Operation;
        operation.steps.forEach(step => steps.record(step));
        return operation;
      } else if (event === 'error') {
        logger.warn(`the operation's event stream ended: ${data?.message ?? 'unknown error'}; polling`);
        break;
      }
      if (Date.now() > deadline) {
        throw taskError(`operation ${operationId} did not finish in time; it continues in Paved`);
      }
    }
  } catch (error) {
    if (signal?.aborted) {
      throw error;
    }
    if ((error as Error).message?.includes('did not finish in time')) {
      throw error;
    }
    logger.warn(`following operation ${operationId} by polling: ${(error as Error).message}`);
  }
  const interval = options.pollIntervalMs ?? 500;
  for (;;) {
    const operation = await client.getOperation(operationId, { actor, signal });
    operation.steps.forEach(step => steps.record(step));
    if (operation.done) {
      return operation;
    }
    if (Date.now() > deadline) {
      throw taskError(`operation ${operationId} did not finish in time; it continues in Paved`);
    }
    await sleep(interval, signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
