// relayAgent: the agent's hybrid connection on the namespace of relay.bicep. Client authorization is
// required (every sender and listener needs a token); the function app sends with its managed
// identity (Azure Relay Sender on this hybrid connection, rbac.bicep), so there is no Send rule; the
// agent listens with the Listen rule below, whose key goes to Key Vault for the operator who installs
// the agent (never a deployment output). A module of its own so that every resource in it is
// unconditional (checkov reads a conditional resource's properties as missing).

param namespaceName string
param hybridConnectionName string
param keyVaultName string
param tags object

var listenRuleName = 'agent-listen'
var listenKeySecretName = 'agent-relay-key'

resource namespace 'Microsoft.Relay/namespaces@2021-11-01' existing = {
  name: namespaceName
}

resource hybridConnection 'Microsoft.Relay/namespaces/hybridConnections@2021-11-01' = {
  parent: namespace
  name: hybridConnectionName
  properties: {
    requiresClientAuthorization: true
  }
}

resource listenRule 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules@2021-11-01' = {
  parent: hybridConnection
  name: listenRuleName
  properties: {
    rights: [
      'Listen'
    ]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// The agent's AGENT_RELAY_KEY.
resource listenKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: listenKeySecretName
  tags: tags
  properties: {
    value: listenRule.listKeys().primaryKey
    contentType: 'text/plain'
  }
}

output listenRuleName string = listenRule.name
output listenKeySecretName string = listenKey.name
