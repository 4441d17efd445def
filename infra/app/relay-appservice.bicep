// appServiceHybridConnection: the hybrid connection App Service Hybrid Connections use to reach the SAP
// gateway. Its user metadata names the endpoint (host:port) for the portal and the Hybrid Connection
// Manager on premise: `[{"key":"endpoint","value":"host:port"}]`, the shape the Azure Verified Module
// avm/res/web/site/hybrid-connection-namespace/relay parses (json(userMetadata)[0].value split on ':');
// that App Service and the Hybrid Connection Manager read exactly this is unverified here. App Service
// authenticates with a Send rule's key (it has no managed-identity option); the Hybrid Connection
// Manager is given the connection in its own UI (or a Listen key from the portal).

param namespaceName string
param hybridConnectionName string
param sapGatewayEndpoint string

resource namespace 'Microsoft.Relay/namespaces@2021-11-01' existing = {
  name: namespaceName
}

resource hybridConnection 'Microsoft.Relay/namespaces/hybridConnections@2021-11-01' = {
  parent: namespace
  name: hybridConnectionName
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

resource sendRule 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules@2021-11-01' = {
  parent: hybridConnection
  name: 'appservice-send'
  properties: {
    rights: [
      'Send'
    ]
  }
}

output hybridConnectionName string = hybridConnection.name
output sendRuleName string = sendRule.name
