// Key Vault in RBAC mode (no access policies): the function app's identity reads secrets through Key
// Vault references (Key Vault Secrets User in rbac.bicep); the relay module writes the agent's Listen
// key here for the operator who installs the agent. Property names: Microsoft.KeyVault/vaults@2023-07-01
// template reference (enableRbacAuthorization, enableSoftDelete, enablePurgeProtection).

param name string
param location string
param tags object
param logAnalyticsWorkspaceId string
param purgeProtection bool = true

@secure()
@description('Secret name -> value; an empty value creates no secret (the operator may set it later).')
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
    // The service refuses false once set and accepts only true or null.
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Flex Consumption without VNet integration resolves Key Vault references over the public
      // endpoint; access is Entra RBAC only. Private endpoint: not built here.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

var givenSecrets = filter(items(secrets), secret => !empty(secret.value))

resource vaultSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in givenSecrets: {
  parent: vault
  name: secret.key
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
