// Azure Relay: the namespace and its hybrid connections.
//
// relayAgent: the agent's hybrid connection (relay-agent.bicep). appServiceHybridConnection: the
// hybrid connection of App Service Hybrid Connections to the SAP gateway (relay-appservice.bicep).
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

module agent 'relay-agent.bicep' = if (!empty(agentHybridConnectionName)) {
  name: 'relay-agent'
  params: {
    namespaceName: namespace.name
    hybridConnectionName: agentHybridConnectionName
    keyVaultName: keyVaultName
    tags: tags
  }
}

module appService 'relay-appservice.bicep' = if (!empty(appServiceHybridConnectionName)) {
  name: 'relay-appservice'
  params: {
    namespaceName: namespace.name
    hybridConnectionName: appServiceHybridConnectionName
    sapGatewayEndpoint: sapGatewayEndpoint
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
output agentListenRuleName string = empty(agentHybridConnectionName) ? '' : agent.outputs.listenRuleName
output agentListenKeySecretName string = empty(agentHybridConnectionName) ? '' : agent.outputs.listenKeySecretName
output appServiceHybridConnectionName string = empty(appServiceHybridConnectionName) ? '' : appService.outputs.hybridConnectionName
output appServiceSendRuleName string = empty(appServiceHybridConnectionName) ? '' : appService.outputs.sendRuleName
