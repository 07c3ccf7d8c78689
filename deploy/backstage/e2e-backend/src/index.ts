/**
 * A real Backstage backend for Paved's end-to-end tests and benchmark: catalog, scaffolder, auth and
 * Paved's two modules, configured by the app-config files given with --config.
 */
import { createBackend } from '@backstage/backend-defaults';
import { e2eSignInModule } from './signIn';

const backend = createBackend();
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(e2eSignInModule);
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@paved/plugin-scaffolder-backend-module-paved'));
backend.add(import('@paved/plugin-catalog-backend-module-paved'));
backend.start();
