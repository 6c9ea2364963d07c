import * as common from 'oci-common';
import type { OciStreamSettings } from '../../config';

/**
 * How the service proves who it is to OCI:
 *  - `config-file`: an API signing key from an OCI CLI config file and profile (laptops, CI);
 *  - `instance-principal`: the compute instance's identity (VMs and OKE nodes in a dynamic group);
 *  - `resource-principal`: the resource's identity (Functions, Container Instances), read from
 *    the OCI_RESOURCE_PRINCIPAL_* environment the platform sets;
 *  - `oke-workload-identity`: the pod's Kubernetes service account on OKE (enhanced clusters),
 *    exchanged for a session token through the cluster's proxymux endpoint.
 */
export async function ociAuthentication(settings: Pick<OciStreamSettings, 'auth' | 'configFile' | 'profile'>): Promise<common.AuthenticationDetailsProvider> {
  switch (settings.auth) {
    case 'config-file':
      return new common.ConfigFileAuthenticationDetailsProvider(settings.configFile, settings.profile);
    case 'instance-principal':
      return new common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build();
    case 'resource-principal':
      return common.ResourcePrincipalAuthenticationDetailsProvider.builder();
    case 'oke-workload-identity': {
      // The SDK's defaults, spelled out because its types require them (the token path's
      // constant is misnamed DEFAULT_DEFAULT_..._CERT_PATH).
      const provider = common.OkeWorkloadIdentityAuthenticationDetailsProvider;
      return provider.builder(provider.DEFAULT_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH, provider.DEFAULT_DEFAULT_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH);
    }
  }
}
