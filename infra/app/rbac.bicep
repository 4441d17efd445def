// Every role assignment of the deployment, each named guid(scope, principal, role) so a redeploy finds
// the same assignment instead of failing on a duplicate.
//
// Built-in role definition ids (Azure built-in roles reference; the Azure Relay ones also in
// MicrosoftDocs azure-docs articles/role-based-access-control/built-in-roles):
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // host's blob leases and the Flex deployment package (anchor rbac.bicep)
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // retry queue, poison queue (anchor rbac.bicep)
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // the ledger (anchor rbac.bicep)
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Entra ingestion into App Insights (anchor rbac.bicep)
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault references
  azureRelaySender: '26baccc8-eea7-41f1-98f4-1762cc7f685d' // dataAction Microsoft.Relay/*/send/action
}

param appPrincipalId string
param userPrincipalId string = ''
param userPrincipalType string = 'User'
param storageAccountName string
param applicationInsightsName string
param keyVaultName string
@description('relayAgent: the namespace and hybrid connection the app sends to (empty: no relay role).')
param relayNamespaceName string = ''
param agentHybridConnectionName string = ''

var withUser = !empty(userPrincipalId)
var withRelay = !empty(relayNamespaceName) && !empty(agentHybridConnectionName)

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource relayNamespace 'Microsoft.Relay/namespaces@2021-11-01' existing = if (withRelay) {
  name: withRelay ? relayNamespaceName : 'unused'
}

resource agentHybridConnection 'Microsoft.Relay/namespaces/hybridConnections@2021-11-01' existing = if (withRelay) {
  parent: relayNamespace
  name: withRelay ? agentHybridConnectionName : 'unused'
}

// --- the function app's user-assigned identity ---

resource appBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageTableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appMetrics 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Send on the agent's hybrid connection only (the narrowest scope Azure Relay roles take): no Send key.
resource appRelaySender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withRelay) {
  name: guid(agentHybridConnection.id, appPrincipalId, roles.azureRelaySender)
  scope: agentHybridConnection
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.azureRelaySender)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- the operator (optional): read the agent's key, run the operations command on the ledger/queues ---

resource userSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withUser) {
  name: guid(vault.id, userPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withUser) {
  name: guid(storageAccount.id, userPrincipalId, roles.storageQueueDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}

resource userTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withUser) {
  name: guid(storageAccount.id, userPrincipalId, roles.storageTableDataContributor)
  scope: storageAccount
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: userPrincipalId
    principalType: userPrincipalType
  }
}
