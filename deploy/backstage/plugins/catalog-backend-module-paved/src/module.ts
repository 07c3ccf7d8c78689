/** The catalog backend module that adds Paved's entity provider. */
import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { PavedEntityProvider } from './provider';

export const catalogModulePaved = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'paved',
  register(reg) {
    reg.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
      },
      async init({ catalog, config, logger, scheduler }) {
        const paved = config.getConfig('paved');
        const providerConfig = paved.getOptionalConfig('catalog');
        const schedule = providerConfig?.has('schedule')
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(providerConfig.getConfig('schedule'))
          : { frequency: { minutes: 5 }, timeout: { minutes: 3 }, initialDelay: { seconds: 15 } };
        catalog.addEntityProvider(
          new PavedEntityProvider({
            baseUrl: paved.getString('baseUrl'),
            publicUrl: paved.getOptionalString('publicUrl'),
            token: providerConfig?.getOptionalString('token') ?? paved.getString('token'),
            includeOrganization: providerConfig?.getOptionalBoolean('includeOrganization') ?? false,
            logger,
            taskRunner: scheduler.createScheduledTaskRunner(schedule),
          }),
        );
      },
    });
  },
});
