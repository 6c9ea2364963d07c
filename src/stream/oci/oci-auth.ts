import * as common from 'oci-common';
import type { OciStreamSettings } from '../../config';

/**
 * How the service proves who it is to OCI:
 *  - `config-file`: an API signing key from an OCI CLI config file and profile (laptops, CI);
 *  - `instance-principal`: the compute instance's identity (VMs and OKE nodes in a dynamic group);
 *  - `resource-principal`: the resource's identity (OKE workload identity, Functions, Container
 *    Instances), read from the OCI_RESOURCE_PRINCIPAL_* environment the platform sets.
 */
export async function ociAuthentication(settings: Pick<OciStreamSettings, 'auth' | 'configFile' | 'profile'>): Promise<common.AuthenticationDetailsProvider> {
  switch (settings.auth) {
    case 'config-file':
      return new common.ConfigFileAuthenticationDetailsProvider(settings.configFile, settings.profile);
    case 'instance-principal':
      return new common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build();
    case 'resource-principal':
      return common.ResourcePrincipalAuthenticationDetailsProvider.builder();
  }
}
