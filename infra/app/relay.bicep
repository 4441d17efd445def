// Azure Relay: the namespace and its hybrid connections.
//
// relayAgent: hybrid connection `sap-agent` with client authorization required (every sender needs a
// token). The function app sends with its managed identity (Azure Relay Sender on this hybrid
// connection, rbac.bicep), so there is no Send rule at all; the agent listens with the Listen rule
// below, whose key goes to Key Vault for the operator who installs the agent (never an output).
//
// appServiceHybridConnection: hybrid connection `sap-gateway` whose user metadata names the SAP
// gateway endpoint (host:port) for App Service Hybrid Connections and the Hybrid Connection Manager;
// App Service authenticates with a Send rule's key (it has no managed-identity option), and the
// Hybrid Connection Manager on premise with a Listen rule (added in its own UI or with a key from the
// portal). The metadata shape `[{"key":"endpoint","value":"host:port"}]` is what the Azure Verified
// Module avm/res/web/site/hybrid-connection-namespace/relay parses (json(userMetadata)[0].value
// split on ':'); that App Service reads exactly this is unverified here.
//
// API version 2021-11-01 as in avm/res/relay/namespace (Microsoft.Relay/namespaces, hybridConnections,
// authorizationRules); the namespace has no TLS setting (Relay speaks HTTPS/WSS only).

param name string
param location string
param tags object
@description('relayAgent: the agent\'s hybrid connection (empty: none).')
param agentHybridConnectionName string
@description('appServiceHybridConnection: the App Service hybrid connection (empty: none).')
param appServiceHybridConnectionName string
@description('host:port of the SAP gateway (appServiceHybridConnection).')
param sapGatewayEndpoint string
param keyVaultName string
param logAnalyticsWorkspaceId string

var agentListenRuleName = 'agent-listen'
var agentListenKeySecretName = 'agent-relay-key'
var appServiceSendRuleName = 'appservice-send'

resource namespace 'Microsoft.Relay/namespaces@2021-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {}
}

resource agentHybridConnection 'Microsoft.Relay/namespaces/hybridConnections@2021-11-01' = if (!empty(agentHybridConnectionName)) {
  parent: namespace
  name: empty(agentHybridConnectionName) ? 'unused' : agentHybridConnectionName
  properties: {
    requiresClientAuthorization: true
  }
}

resource agentListenRule 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules@2021-11-01' = if (!empty(agentHybridConnectionName)) {
  parent: agentHybridConnection
  name: agentListenRuleName
  properties: {
    rights: [
      'Listen'
    ]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource agentListenKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(agentHybridConnectionName)) {
  parent: vault
  name: agentListenKeySecretName
  tags: tags
  properties: {
    value: agentListenRule.listKeys().primaryKey
    contentType: 'Azure Relay Listen key of ${agentListenRuleName} on ${agentHybridConnectionName} (the agent\'s AGENT_RELAY_KEY)'
  }
}

resource appServiceHybridConnection 'Microsoft.Relay/namespaces/hybridConnections@2021-11-01' = if (!empty(appServiceHybridConnectionName)) {
  parent: namespace
  name: empty(appServiceHybridConnectionName) ? 'unused-appservice' : appServiceHybridConnectionName
  properties: {
    requiresClientAuthorization: true
    userMetadata: string([
      {
        key: 'endpoint'
        value: sapGatewayEndpoint
      }
    ])
  }
}

resource appServiceSendRule 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules@2021-11-01' = if (!empty(appServiceHybridConnectionName)) {
  parent: appServiceHybridConnection
  name: appServiceSendRuleName
  properties: {
    rights: [
      'Send'
    ]
  }
}

resource relayDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
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

// serviceBusEndpoint is https://{namespace}.servicebus.windows.net:443/ (the AVM site relay module
// splits it on ':'); the hybrid connection URL the code wants is https://{namespace host}/{name}.
var endpoint = namespace.properties.serviceBusEndpoint
var namespaceUrl = substring(endpoint, 0, lastIndexOf(endpoint, ':'))

output name string = namespace.name
output id string = namespace.id
output agentHybridConnectionUrl string = empty(agentHybridConnectionName) ? '' : '${namespaceUrl}/${agentHybridConnectionName}'
output agentListenRuleName string = empty(agentHybridConnectionName) ? '' : agentListenRuleName
output agentListenKeySecretName string = empty(agentHybridConnectionName) ? '' : agentListenKeySecretName
output appServiceHybridConnectionName string = appServiceHybridConnectionName
output appServiceSendRuleName string = empty(appServiceHybridConnectionName) ? '' : appServiceSendRuleName
