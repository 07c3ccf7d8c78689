import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  paved: {
    /** Base URL of Paved's gateway as this backend reaches it. */
    baseUrl: string;
    /** Base URL of Paved's gateway as users reach it (entity annotations). Defaults to baseUrl. */
    publicUrl?: string;
    /**
     * Paved token; the provider uses catalog.token when set, this one otherwise.
     * @visibility secret
     */
    token: string;
    catalog?: {
      /**
       * Token the provider reads services with: one that sees every team (role admin) or the teams
       * this Backstage shows.
       * @visibility secret
       */
      token?: string;
      /** Also emit Paved's Group and System entities (off: the organisation owns those). */
      includeOrganization?: boolean;
      /** How often to read Paved. Default: every 5 minutes. */
      schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
    };
  };
}
