/**
 * Paved's scaffolder actions for Backstage: paved:service:create, paved:service:deploy and
 * paved:service:rollback.
 *
 * @packageDocumentation
 */
export { scaffolderModulePaved as default } from './module';
export { createPavedServiceAction, CREATE_ACTION_ID } from './actions/create';
export { createPavedWorkflowAction } from './actions/workflow';
export { PavedClient, PavedApiError } from './client';
export type { Actor, Operation } from './client';
export { readPavedSettings } from './config';
export type { PavedSettings } from './config';
