// The whole Azure side of the Salesforce -> SAP customer sync, deployed with `azd up` (azd fills
// main.parameters.json's ${...} placeholders from its environment). Without azd, give the parameters
// yourself, e.g. `az deployment group create -g <rg> -f infra/main.bicep -p environmentName=<name>
// sapSalesAreas='{"1000/10/00": {...}}'`: the parameters file holds azd's placeholders, which az would
// pass as they are.
//
// Shaped after Azure-Samples/functions-quickstart-python-http-azd (infra/main.bicep, app/api.bicep,
// app/rbac.bicep, app/vnet.bicep, abbreviations.json at commit 7ed4638b): user-assigned identity,
// identity-based AzureWebJobsStorage, Flex Consumption functionAppConfig, App Insights with local auth
// off. Unlike the sample, every resource is a plain, pinned declaration in these local files: no
// registry module is fetched at deploy time, so what is checked here is what deploys.
//
// Scope: a resource group (azd asks for one, or set AZURE_RESOURCE_GROUP), so that
// `az deployment group create` deploys the same template.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Parameters (main.parameters.json maps azd's environment values onto them)
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name: the seed of every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of every resource (one where Flex Consumption is offered, for relayAgent and vnet).')
param location string = resourceGroup().location

@description('How the function app reaches SAP: relayAgent (default: the on-premise agent over Azure Relay), vnet (VNet integration and the rfc transport over VPN or ExpressRoute), appServiceHybridConnection (a Dedicated Linux plan, App Service Hybrid Connections to the SAP gateway, the rfc transport in a custom container).')
@allowed([
  'relayAgent'
  'vnet'
  'appServiceHybridConnection'
])
param connectivity string = 'relayAgent'

@description('Python of the function app: the version the code is tested on (.ci runs 3.11).')
@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

@description('Flex Consumption instance memory (MB).')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption scale-out limit; it also bounds the SAP sessions the app can open at once.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Object id of a developer or operator who may read the agent key and the ledger (optional).')
param principalId string = ''

@description('principalType of principalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

// --- SAP organization (read by the function app in every variant) ---
@description('SAP_SALES_AREAS: JSON object keyed by SALESORG/CHANNEL/DIVISION, e.g. {"1000/10/00": {"companyCode": "1000", "referenceCustomer": "0000001000"}}. Required: the code\'s own default is SAP\'s IDES demo.')
@minLength(2)
param sapSalesAreas string

@description('SAP_DEFAULT_SALES_AREA, e.g. 1000/10/00 (empty: none).')
param sapDefaultSalesArea string = ''

@description('SAP_DEFAULT_LANGUAGE: the language of a customer whose request gives none and whose country has no usual language in the app\'s table, as ISO 639-1 (EN) or SAP\'s one-character key (E). Empty: such requests are refused (400, field language); SAP needs a language key.')
param sapDefaultLanguage string = ''

@description('SAP_FIND_NO_MATCH_MESSAGE: the message of BAPI_CUSTOMER_FIND for "nothing found" on your system, e.g. "F2 173".')
param sapFindNoMatchMessage string = ''

@description('SAP_GUARD_SEARCH_SINCE: the moment (ISO 8601 with offset, e.g. 2026-12-01T08:00:00Z) from which the ledger may have lost writes (restored from a backup, moved to another storage account). While set, the duplicate guard searches SAP before every create for a customer made since then. Empty: it searches only after an unknown outcome.')
param sapGuardSearchSince string = ''

@description('SAP_TIMEOUT_SECONDS: per RFC call.')
param sapTimeoutSeconds int = 30

@description('SAP_POOL_SIZE: RFC connections per worker (vnet and appServiceHybridConnection; the agent pools its own). 0: a logon per unit of work. To pool, set it to the worker\'s thread count, PYTHON_THREADPOOL_THREAD_COUNT, which infra/app/api.bicep derives from host.json (docs/deploy.md).')
param sapPoolSize int = 0

// --- relayAgent: the function app's proof on each request, the agent's AGENT_PROOF_KEY ---
@secure()
@description('SAP_AGENT_PROOF_KEY (at least 32 characters, e.g. openssl rand -base64 48): stored in Key Vault; the agent is given the same key. Empty: set the secret sap-agent-proof-key in the vault yourself; until then the agent refuses every request (fail closed).')
param sapAgentProofKey string = ''

// --- vnet / appServiceHybridConnection: the rfc transport's logon (application server logon) ---
@description('The rfc transport\'s logon, keys as pyrfc names them: ashost, sysnr, client, user, lang, and optionally mshost, msserv, sysid, group, saprouter, snc_mode, snc_partnername, snc_qop, snc_myname, snc_lib. Not used by relayAgent (the agent holds the logon).')
param sapLogon object = {}

@secure()
@description('SAP_PASSWORD of the rfc transport (stored in Key Vault). Not used by relayAgent.')
param sapPassword string = ''

// --- S/4HANA: the app calls the Business Partner service itself (SAP_TRANSPORT=odata; docs/sap.md, "S/4HANA") ---
@description('S/4HANA\'s API_BUSINESS_PARTNER called by the app over HTTPS: url (SAP_ODATA_URL), grouping (SAP_BP_GROUPING), auth (basic, the default, or oauth), user (basic), clientId and tokenUrl (oauth). For S/4HANA Cloud (the relay then carries nothing) or an S/4HANA on premise reached over vnet. Empty (default): the connectivity\'s transport. An S/4HANA on premise behind the agent keeps this empty and sets SAP_TRANSPORT=odata on the agent.')
param sapOData object = {}

@secure()
@description('S/4HANA: the communication user\'s password (auth basic) or the OAuth client secret (auth oauth), stored in Key Vault as sap-odata-secret. Empty: set that secret in the vault yourself.')
param sapODataSecret string = ''

// --- appServiceHybridConnection ---
@description('appServiceHybridConnection: the SAP gateway host as the Hybrid Connection Manager on premise resolves it (the same name as sapLogon.ashost).')
param sapGatewayHost string = ''

@description('appServiceHybridConnection: the SAP gateway port, 33NN for system number NN.')
param sapGatewayPort int = 3300

@description('appServiceHybridConnection: the function app image with the SAP NW RFC SDK and the pyrfc wheel (you build it; pulled with the managed identity, which needs AcrPull on the registry).')
param containerImage string = ''

@description('appServiceHybridConnection: the Dedicated Linux plan (Hybrid Connections need Basic or higher; Flex Consumption has none).')
param dedicatedPlanSku string = 'P0v3'

// --- Salesforce write-back ---
// Off by default: the write-back needs a connected app (client id, secret or key, My Domain login URL)
// that a first deployment does not have, and the app's start check refuses `function` without them, which
// would leave the app with no function indexed and no /api/health. Turn it on with its settings
// (docs/deploy.md).
@description('SALESFORCE_WRITEBACK: function (this app writes the SAP number back; needs salesforceClientId and the auth mode\'s secret), flow (the flow does it), off (default, until the connected app is set up).')
@allowed([
  'function'
  'flow'
  'off'
])
param salesforceWriteback string = 'off'

@description('SALESFORCE_AUTH of the connected app.')
@allowed([
  'client_credentials'
  'jwt'
  'password'
])
param salesforceAuth string = 'client_credentials'

param salesforceLoginUrl string = 'https://login.salesforce.com'
param salesforceInstanceUrl string = ''
param salesforceApiVersion string = '61.0'

@description('SALESFORCE_CLIENT_ID: the connected app\'s consumer key.')
param salesforceClientId string = ''

@description('SALESFORCE_USERNAME: the integration user (jwt, password).')
param salesforceUsername string = ''

@description('SALESFORCE_ORGANIZATION_ID: the org whose outbound messages the push path accepts (15 or 18 characters; empty: the push path refuses every message with 503 and Salesforce keeps it).')
param salesforceOrganizationId string = ''

@description('SALESFORCE_CUSTOMER_TYPES: the Account Type values that mean customer, comma-separated (e.g. Customer - Direct,Customer - Channel for the older default picklist). The Salesforce push flow reads its own copy (custom metadata SAP_Customer_Sync_Setting.Default).')
param salesforceCustomerTypes string = 'Customer'

@description('SAP_CHANGE_CONFLICT: what a change of a synced account does with an owned field someone changed in SAP since our last change: salesforce_wins overwrites it (the field name is logged), review holds the change for an operator (docs/changes.md).')
@allowed([
  'salesforce_wins'
  'review'
])
param sapChangeConflict string = 'salesforce_wins'

@description('SALESFORCE_OWNED_FIELDS: the fields Salesforce owns, which changes send (business names, comma-separated; narrows name,street,houseNumber,postalCode,city,region,country,phone,email,language).')
param salesforceOwnedFields string = 'name,street,houseNumber,postalCode,city,region,country,phone,email,language'

@secure()
@description('SALESFORCE_CLIENT_SECRET (client_credentials, password): stored in Key Vault.')
param salesforceClientSecret string = ''

@secure()
@description('SALESFORCE_PRIVATE_KEY (jwt, PEM): stored in Key Vault.')
param salesforcePrivateKey string = ''

@secure()
@description('SALESFORCE_PASSWORD (password): stored in Key Vault.')
param salesforcePassword string = ''

@secure()
@description('SALESFORCE_SECURITY_TOKEN (password): stored in Key Vault.')
param salesforceSecurityToken string = ''

// --- retry queue ---
param retryMaxAttempts int = 8
param retryBaseDelaySeconds int = 30
param retryMaxDelaySeconds int = 3600
param retryAfterSeconds int = 60

// --- alerts ---
@description('Mail address for the alerts (empty: the alerts fire without an action group).')
param alertEmail string = ''

@description('Failed (rejected or poisoned) plus needs_review creates within 15 minutes above which the alert fires.')
@minValue(0)
param failedCreatesThreshold int = 5

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'sap-customer-sync'
}
var functionAppName = '${abbrs.webSitesFunctions}sapsync-${resourceToken}'
// The Flex Consumption deployment container, named as in the anchor sample.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var retryQueueName = 'sap-customer-retry'
// The Functions host moves a message here after maxDequeueCount (host.json) failed deliveries.
var poisonQueueName = '${retryQueueName}-poison'
var ledgerTableName = 'sapcustomerledger'
var agentHybridConnectionName = 'sap-agent'
var keyVaultName = '${abbrs.keyVaultVaults}${take(resourceToken, 21)}'
var usesRelayAgent = connectivity == 'relayAgent'
var usesRfc = connectivity != 'relayAgent'
var usesOData = !empty(sapOData.?url ?? '')
var sapODataAuth = sapOData.?auth ?? 'basic'
var onFlexConsumption = connectivity != 'appServiceHybridConnection'

// ---------------------------------------------------------------------------------------------
// Identity, monitoring, storage, Key Vault, network, relay
// ---------------------------------------------------------------------------------------------

// One user-assigned identity for storage, Key Vault references, App Insights ingestion and the relay.
resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}sapsync-${resourceToken}'
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: '${abbrs.storageStorageAccounts}${take(resourceToken, 20)}'
    deploymentContainerName: deploymentContainerName
    queueNames: [
      retryQueueName
      poisonQueueName
    ]
    ledgerTableName: ledgerTableName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    tags: tags
    name: keyVaultName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    // Only the secrets given as parameters; the others the operator sets in the vault (docs/deploy.md).
    secrets: {
      items: concat(
        empty(salesforceClientSecret) ? [] : [{ name: 'salesforce-client-secret', value: salesforceClientSecret }],
        empty(salesforcePrivateKey) ? [] : [{ name: 'salesforce-private-key', value: salesforcePrivateKey }],
        empty(salesforcePassword) ? [] : [{ name: 'salesforce-password', value: salesforcePassword }],
        empty(salesforceSecurityToken) ? [] : [{ name: 'salesforce-security-token', value: salesforceSecurityToken }],
        usesRelayAgent && !empty(sapAgentProofKey) ? [{ name: 'sap-agent-proof-key', value: sapAgentProofKey }] : [],
        usesRfc && !empty(sapPassword) ? [{ name: 'sap-password', value: sapPassword }] : [],
        usesOData && !empty(sapODataSecret) ? [{ name: 'sap-odata-secret', value: sapODataSecret }] : [])
    }
  }
}

module network 'app/vnet.bicep' = if (connectivity == 'vnet') {
  name: 'network'
  params: {
    location: location
    tags: tags
    vnetName: '${abbrs.networkVirtualNetworks}${resourceToken}'
    nsgName: '${abbrs.networkNetworkSecurityGroups}${resourceToken}'
  }
}

module relay 'app/relay.bicep' = if (connectivity != 'vnet') {
  name: 'relay'
  params: {
    location: location
    tags: tags
    name: '${abbrs.relayNamespaces}${resourceToken}'
    agentHybridConnectionName: usesRelayAgent ? agentHybridConnectionName : ''
    appServiceHybridConnectionName: connectivity == 'appServiceHybridConnection' ? 'sap-gateway' : ''
    sapGatewayEndpoint: '${sapGatewayHost}:${sapGatewayPort}'
    keyVaultName: keyVault.outputs.name
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

// ---------------------------------------------------------------------------------------------
// App settings: every setting the code reads (shared/settings/), one line each.
// tests/infra/test_settings_parity.py holds this list equal to the code's; the settings the code
// reads but Azure must not get (local runs, the agent's own) are listed there, in one place.
// Adding a setting = one line in one of these objects.
// ---------------------------------------------------------------------------------------------

var keyVaultUri = keyVault.outputs.uri
// A Key Vault reference resolved by the platform with the user-assigned identity (keyVaultReferenceIdentity).
var kvRef = '@Microsoft.KeyVault(VaultName=${keyVault.outputs.name};SecretName='

var commonSettings = {
  SAP_TRANSPORT: usesOData ? 'odata' : (usesRelayAgent ? 'relay' : 'rfc')
  SAP_SALES_AREAS: sapSalesAreas
  SAP_DEFAULT_SALES_AREA: sapDefaultSalesArea
  SAP_DEFAULT_LANGUAGE: sapDefaultLanguage
  SAP_FIND_NO_MATCH_MESSAGE: sapFindNoMatchMessage
  SAP_GUARD_SEARCH_SINCE: sapGuardSearchSince
  SAP_TIMEOUT_SECONDS: string(sapTimeoutSeconds)
  SAP_POOL_SIZE: string(sapPoolSize)
  LEDGER_TABLE_NAME: ledgerTableName
  RETRY_QUEUE_NAME: retryQueueName
  RETRY_MAX_ATTEMPTS: string(retryMaxAttempts)
  RETRY_BASE_DELAY_SECONDS: string(retryBaseDelaySeconds)
  RETRY_MAX_DELAY_SECONDS: string(retryMaxDelaySeconds)
  RETRY_AFTER_SECONDS: string(retryAfterSeconds)
  // The user-assigned identity for the code's own Entra tokens (relay, DefaultAzureCredential).
  AZURE_CLIENT_ID: appIdentity.properties.clientId
  SALESFORCE_WRITEBACK: salesforceWriteback
  // Only with the write-back on: nothing else in the function app signs in to Salesforce, and the start
  // check holds a set SALESFORCE_AUTH to its login URL.
  SALESFORCE_AUTH: writesBack ? salesforceAuth : ''
  SALESFORCE_LOGIN_URL: salesforceLoginUrl
  SALESFORCE_INSTANCE_URL: salesforceInstanceUrl
  SALESFORCE_API_VERSION: salesforceApiVersion
  SALESFORCE_CLIENT_ID: salesforceClientId
  SALESFORCE_USERNAME: salesforceUsername
  SALESFORCE_ORGANIZATION_ID: salesforceOrganizationId
  SALESFORCE_CUSTOMER_TYPES: salesforceCustomerTypes
  SAP_CHANGE_CONFLICT: sapChangeConflict
  SALESFORCE_OWNED_FIELDS: salesforceOwnedFields
}

// Secrets: Key Vault references only, set where the variant or the Salesforce auth mode needs them.
// keyvault.bicep creates each secret from its parameter when one is given; otherwise the operator sets
// it in the vault (docs/deploy.md), e.g. a PEM key with `az keyvault secret set --file`.
var writesBack = salesforceWriteback == 'function'
var salesforceSecretSettings = union(
  writesBack && salesforceAuth != 'jwt' ? { SALESFORCE_CLIENT_SECRET: '${kvRef}salesforce-client-secret)' } : {},
  writesBack && salesforceAuth == 'jwt' ? { SALESFORCE_PRIVATE_KEY: '${kvRef}salesforce-private-key)' } : {},
  writesBack && salesforceAuth == 'password' ? { SALESFORCE_PASSWORD: '${kvRef}salesforce-password)' } : {},
  writesBack && salesforceAuth == 'password' ? { SALESFORCE_SECURITY_TOKEN: '${kvRef}salesforce-security-token)' } : {}
)

// relayAgent: the hybrid connection, sent to with the managed identity (Azure Relay Sender role in
// rbac.bicep), so SAP_RELAY_KEY_NAME / SAP_RELAY_KEY are deliberately not set.
var relaySettings = usesRelayAgent && !usesOData ? {
  SAP_RELAY_URL: relay.outputs.agentHybridConnectionUrl
  SAP_AGENT_PROOF_KEY: '${kvRef}sap-agent-proof-key)'
} : {}

// vnet / appServiceHybridConnection: pyrfc's logon in the cloud (names as in shared/settings/).
var rfcSettings = usesRfc && !usesOData ? {
  SAP_ASHOST: sapLogon.?ashost ?? ''
  SAP_SYSNR: sapLogon.?sysnr ?? ''
  SAP_MSHOST: sapLogon.?mshost ?? ''
  SAP_MSSERV: sapLogon.?msserv ?? ''
  SAP_SYSID: sapLogon.?sysid ?? ''
  SAP_GROUP: sapLogon.?group ?? ''
  SAP_SAPROUTER: sapLogon.?saprouter ?? ''
  SAP_CLIENT: sapLogon.?client ?? ''
  SAP_USER: sapLogon.?user ?? ''
  SAP_LANG: sapLogon.?lang ?? 'EN'
  SAP_SNC_MODE: sapLogon.?snc_mode ?? ''
  SAP_SNC_PARTNERNAME: sapLogon.?snc_partnername ?? ''
  SAP_SNC_QOP: sapLogon.?snc_qop ?? ''
  SAP_SNC_MYNAME: sapLogon.?snc_myname ?? ''
  SAP_SNC_LIB: sapLogon.?snc_lib ?? ''
  SAP_PASSWORD: '${kvRef}sap-password)'
} : {}

// S/4HANA (sapOData given): the Business Partner service's root and logon (names as in shared/settings/s4.py).
var odataSettings = usesOData ? {
  SAP_ODATA_URL: sapOData.url
  SAP_ODATA_AUTH: sapODataAuth
  SAP_ODATA_USER: sapOData.?user ?? ''
  SAP_ODATA_CLIENT_ID: sapOData.?clientId ?? ''
  SAP_ODATA_TOKEN_URL: sapOData.?tokenUrl ?? ''
  SAP_BP_GROUPING: sapOData.?grouping ?? ''
} : {}
var odataSecretSettings = union(
  usesOData && sapODataAuth != 'oauth' ? { SAP_ODATA_PASSWORD: '${kvRef}sap-odata-secret)' } : {},
  usesOData && sapODataAuth == 'oauth' ? { SAP_ODATA_CLIENT_SECRET: '${kvRef}sap-odata-secret)' } : {}
)

var appSettings = union(commonSettings, salesforceSecretSettings, relaySettings, rfcSettings, odataSettings,
  odataSecretSettings)

// ---------------------------------------------------------------------------------------------
// The function app, its roles, alerts and workbook
// ---------------------------------------------------------------------------------------------

module api 'app/api.bicep' = {
  name: 'api'
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    connectivity: connectivity
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    identityId: appIdentity.id
    identityClientId: appIdentity.properties.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    appSettings: appSettings
    subnetId: connectivity == 'vnet' ? network.outputs.appSubnetId : ''
    containerImage: containerImage
    dedicatedPlanSku: dedicatedPlanSku
    relayNamespaceName: connectivity == 'appServiceHybridConnection' ? relay.outputs.name : ''
    sapGatewayHost: sapGatewayHost
    sapGatewayPort: sapGatewayPort
    appServiceHybridConnectionName: connectivity == 'appServiceHybridConnection' ? relay.outputs.appServiceHybridConnectionName : ''
  }
  dependsOn: [
    rbac // the identity must hold its storage and Key Vault roles before the host starts
  ]
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    appPrincipalId: appIdentity.properties.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    relayNamespaceName: usesRelayAgent ? relay.outputs.name : ''
    agentHybridConnectionName: usesRelayAgent ? agentHybridConnectionName : ''
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    namePrefix: 'sapsync-${resourceToken}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
    failedCreatesThreshold: failedCreatesThreshold
    relayNamespaceId: usesRelayAgent ? relay.outputs.id : ''
    agentHybridConnectionName: usesRelayAgent ? agentHybridConnectionName : ''
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    queueServiceId: storage.outputs.queueServiceId
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (UPPER_SNAKE_CASE: azd stores them in the environment's .env)
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output AZURE_FUNCTION_URL string = api.outputs.url
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVaultUri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output SAP_CONNECTIVITY string = connectivity
output RETRY_QUEUE_NAME string = retryQueueName
output LEDGER_TABLE_NAME string = ledgerTableName
// For the operator who installs the agent (relayAgent): its AGENT_RELAY_URL, AGENT_RELAY_KEY_NAME,
// and where AGENT_RELAY_KEY is (a Key Vault secret; never an output).
output AGENT_RELAY_URL string = usesRelayAgent ? relay.outputs.agentHybridConnectionUrl : ''
output AGENT_RELAY_KEY_NAME string = usesRelayAgent ? relay.outputs.agentListenRuleName : ''
output AGENT_RELAY_KEY_IN_KEY_VAULT string = usesRelayAgent ? relay.outputs.agentListenKeySecretName : ''
output ON_FLEX_CONSUMPTION bool = onFlexConsumption
