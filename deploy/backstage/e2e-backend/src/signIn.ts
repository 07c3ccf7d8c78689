/**
 * Sign-in for the end-to-end tests: a proxy-style auth provider (as behind an authenticating proxy)
 * that signs in the catalog User named in the `x-e2e-user` header. Backstage's auth backend issues
 * the user's token (with its ownership from the catalog), exactly as for any other provider.
 */
import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  authProvidersExtensionPoint,
  createProxyAuthenticator,
  createProxyAuthProviderFactory,
} from '@backstage/plugin-auth-node';

const authenticator = createProxyAuthenticator({
  defaultProfileTransform: async (result: { user: string }) => ({
    profile: { displayName: result.user },
  }),
  initialize() {},
  async authenticate({ req }) {
    const user = req.header('x-e2e-user');
    if (!user) {
      throw new Error('the x-e2e-user header is missing');
    }
    return { result: { user } };
  },
});

export const e2eSignInModule = createBackendModule({
  pluginId: 'auth',
  moduleId: 'e2e-sign-in',
  register(reg) {
    reg.registerInit({
      deps: { providers: authProvidersExtensionPoint },
      async init({ providers }) {
        providers.registerProvider({
          providerId: 'e2e',
          factory: createProxyAuthProviderFactory({
            authenticator,
            async signInResolver({ result }, ctx) {
              return ctx.signInWithCatalogUser({ entityRef: { name: result.user } });
            },
          }),
        });
      },
    });
  },
});
