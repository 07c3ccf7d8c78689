export interface Config {
  /** Paved, the platform behind the paved:service:* actions. */
  paved: {
    /** Base URL of Paved's gateway as this backend reaches it, e.g. http://paved-gateway:8080. */
    baseUrl: string;
    /**
     * Base URL of Paved's gateway as users reach it, for the absolute links in task outputs.
     * Defaults to baseUrl.
     */
    publicUrl?: string;
    /**
     * Paved token with the `delegate` role: the module acts only on behalf of the user who started
     * a task, naming the user and their groups.
     * @visibility secret
     */
    token: string;
    /** Namespace of the Backstage groups that are Paved teams. Default: default. */
    groupNamespace?: string;
    scaffolder?: {
      /** Polling interval when the operation's event stream is not available. Default 500. */
      pollIntervalMs?: number;
      /** How long an action follows an operation before giving up. Default 30. */
      followTimeoutMinutes?: number;
    };
  };
}
