/**
 * Paved's services in Backstage's catalog, read by an entity provider with its own credentials.
 *
 * @packageDocumentation
 */
export { catalogModulePaved as default } from './module';
export { PavedEntityProvider } from './provider';
export type { PavedEntityProviderOptions } from './provider';
