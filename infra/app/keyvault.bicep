// Key Vault in RBAC mode (no access policies): the function app's identity reads secrets through Key
// Vault references (Key Vault Secrets User in rbac.bicep); the relay module writes the agent's Listen
// key here for the operator who installs the agent. Property names: Microsoft.KeyVault/vaults@2023-07-01
// template reference (enableRbacAuthorization, enableSoftDelete, enablePurgeProtection).

param name string
param location string
param tags object
param logAnalyticsWorkspaceId string

@secure()
@description('{ items: [ { name, value } ] }: the secrets to create (main.bicep leaves out those not given; the operator may set them later).')
param secrets object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // On: a deleted vault or secret can be recovered for 90 days and not purged before (so `azd down
    // --purge` cannot purge it, and a new environment needs a new name).
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Flex Consumption without VNet integration resolves Key Vault references over the public
      // endpoint; access is Entra RBAC only. Private endpoint: not built here.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource vaultSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in secrets.items: {
  parent: vault
  name: secret.name
  tags: tags
  properties: {
    value: secret.value
    contentType: 'text/plain'
  }
}]

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
