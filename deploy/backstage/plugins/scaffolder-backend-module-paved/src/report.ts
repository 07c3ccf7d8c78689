/**
 * What a Backstage user reads in the task log when Paved refuses or an operation fails: Paved's own
 * message, one line per field violation naming the form's field, policy violations with their level.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { Operation, PavedApiError, PolicyViolation } from './client';

/**
 * An error for the task log: the scaffolder logs a failed step's `stack`, so this one's stack is its
 * message — the user reads Paved's words, not a Node stack trace.
 */
export function taskError(message: string): Error {
  const error = new Error(message);
  error.stack = `Error: ${message}`;
  return error;
}

/** Maps the gateway's body field (`name`, `parameters.language`) to the form field that fills it. */
export function formField(field: string, formFields: Record<string, string>): string {
  if (formFields[field]) {
    return formFields[field];
  }
  if (field.startsWith('parameters.')) {
    const rest = field.slice('parameters.'.length);
    return formFields[rest] ?? rest;
  }
  return field;
}

export function policyLine(violation: PolicyViolation): string {
  const level = violation.enforcement_level ?? violation.severity ?? 'policy';
  const where = violation.resource ? ` on ${violation.resource}` : '';
  return `policy ${violation.policy} [${level}]${where}: ${violation.message}`;
}

/** Logs the refusal line by line and returns the error the task fails with. */
export function refusal(
  error: PavedApiError,
  what: string,
  logger: LoggerService,
  formFields: Record<string, string> = {},
): Error {
  logger.error(`Paved refused ${what}: ${error.message}`);
  for (const violation of error.fieldViolations) {
    logger.error(
      `field '${formField(violation.field, formFields)}': ${violation.description}` +
        (violation.field !== formField(violation.field, formFields) ? ` (${violation.field})` : ''),
    );
  }
  const refusals: { message: string; details: Record<string, any> }[] = [
    { message: error.message, details: error.details },
    ...(Array.isArray(error.details.alsoRefusedBy)
      ? error.details.alsoRefusedBy.map((other: Record<string, any>) => ({
          message: String(other.message),
          details: other,
        }))
      : []),
  ];
  for (const [index, item] of refusals.entries()) {
    if (index > 0) {
      logger.error(`also refused: ${item.message}`);
    }
    for (const violation of (item.details.violations ?? []) as PolicyViolation[]) {
      logger.error(policyLine(violation));
    }
    if (item.details.quota && item.details.limit !== undefined) {
      logger.error(
        `quota ${item.details.quota}: ${item.details.current} in use + ${item.details.requested} requested > limit ${item.details.limit}`,
      );
    }
  }
  const count = error.fieldViolations.length;
  const suffix = count ? ` (${count} field error${count === 1 ? '' : 's'}, listed above)` : '';
  return taskError(`Paved refused ${what}: ${error.message}${suffix}`);
}

/** The error a failed operation fails the task with, after logging it. */
export function operationFailure(operation: Operation, what: string, logger: LoggerService): Error {
  const message = operation.error?.message ?? 'the operation failed';
  logger.error(`${what} failed in Paved: ${message}`);
  const failed = operation.steps.filter(step => step.state.toUpperCase() === 'FAILED');
  for (const step of failed) {
    logger.error(`failed step ${step.name}: ${step.error ?? step.detail ?? 'no detail'}`);
  }
  return taskError(`${what} failed in Paved: ${message}`);
}

export function money(value: { amount: number; currency: string } | null | undefined): string {
  if (!value) {
    return 'unknown';
  }
  return `${value.amount.toFixed(2)} ${value.currency}`;
}
