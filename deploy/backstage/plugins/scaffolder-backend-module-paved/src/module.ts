/** The scaffolder backend module that registers Paved's actions. */
import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createPavedServiceAction } from './actions/create';
import { createPavedWorkflowAction } from './actions/workflow';
import { PavedClient } from './client';
import { readPavedSettings } from './config';

export const scaffolderModulePaved = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'paved',
  register(reg) {
    reg.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
      },
      async init({ scaffolder, config }) {
        const settings = readPavedSettings(config);
        const client = new PavedClient({ baseUrl: settings.baseUrl, token: settings.token });
        scaffolder.addActions(
          createPavedServiceAction({ client, settings }),
          createPavedWorkflowAction({ client, settings, workflow: 'deploy' }),
          createPavedWorkflowAction({ client, settings, workflow: 'rollback' }),
        );
      },
    });
  },
});
