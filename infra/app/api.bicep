// The function app and its plan.
//
// relayAgent and vnet: Flex Consumption (plan sku FC1, Linux), shaped after the anchor sample's
// app/api.bicep: functionAppConfig.deployment.storage (a blob container, user-assigned identity auth),
// runtime {name: python, version}, scaleAndConcurrency {instanceMemoryMB, maximumInstanceCount}, and
// Microsoft.Web/sites@2024-04-01 as the plain Flex Consumption templates in Azure-Samples use it.
// Flex Consumption takes none of the site properties and app settings in Microsoft's "Flex Consumption
// plan deprecations" table (App settings reference for Azure Functions, functions-app-settings.md):
// no FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION (the runtime is functionAppConfig's), no
// ftpsState ("FTPS not supported"), alwaysOn or linuxFxVersion, no vnetRouteAllEnabled ("Not used for
// networking in Flex Consumption"): VNet integration is virtualNetworkSubnetId alone, as Microsoft's Flex
// Consumption sample sets it (Azure-Samples/functions-quickstart-python-http-azd
// infra/core/host/functions-flexconsumption.bicep). These are null on Flex (ARM leaves a null out);
// tests/infra/test_bicep_defaults.py checks the evaluated template against the table.
//
// appServiceHybridConnection: a Dedicated Linux plan (App Service Hybrid Connections exist on Basic and
// higher, not on Flex Consumption) running the user's custom container (kind functionapp,linux,container,
// linuxFxVersion DOCKER|image) that holds the SAP NW RFC SDK and the pyrfc wheel, pulled with the
// managed identity (acrUseManagedIdentityCreds); the hybrid connection to the SAP gateway is attached
// with Microsoft.Web/sites/hybridConnectionNamespaces/relays (properties as in the Azure Verified Module
// avm/res/web/site/hybrid-connection-namespace/relay: serviceBusNamespace, serviceBusSuffix, relayName,
// relayArmUri, hostname, port, sendKeyName, sendKeyValue).

param name string
param planName string
param location string
param tags object
param connectivity string
param pythonVersion string
param instanceMemoryMB int
param maximumInstanceCount int
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param logAnalyticsWorkspaceId string
@description('The settings the code reads (main.bicep); the host\'s own are added here.')
param appSettings object
param subnetId string = ''
param containerImage string = ''
param dedicatedPlanSku string = 'P0v3'
param relayNamespaceName string = ''
param appServiceHybridConnectionName string = ''
@description('appServiceHybridConnection: the SAP gateway endpoint the hybrid connection stands for.')
param sapGatewayHost string = ''
param sapGatewayPort int = 3300

var onFlexConsumption = connectivity != 'appServiceHybridConnection'
var serviceName = 'api' // azure.yaml's service name; azd finds the app by the azd-service-name tag

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: onFlexConsumption ? 'functionapp' : 'linux'
  sku: onFlexConsumption ? {
    name: 'FC1'
    tier: 'FlexConsumption'
  } : {
    name: dedicatedPlanSku
  }
  properties: {
    reserved: true // Linux
  }
}

// The host's settings (not read by the code): identity-based AzureWebJobsStorage, as the anchor sets
// __credential/__clientId/__blobServiceUri, plus __queueServiceUri and __tableServiceUri because the app
// uses both (shared/storage/clients.py reads those and __credential/__clientId too).
var storageSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
}

// App Insights with local auth off: Entra ingestion with the user-assigned identity (anchor sample).
var monitoringSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The Python worker configures azure-monitor-opentelemetry itself before it imports function_app, so
  // the app adds no second exporter (docs/monitoring.md; host.json telemetryMode OpenTelemetry).
  PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: 'true'
}

// The Python worker's thread pool, in every variant. Every function here is a `def`, and the worker runs
// each such invocation on a thread of one ThreadPoolExecutor per worker process, max_workers =
// PYTHON_THREADPOOL_THREAD_COUNT (Azure/azure-functions-python-worker, dispatcher.py:
// Dispatcher._get_sync_tp_max_workers; one worker process, as FUNCTIONS_WORKER_PROCESS_COUNT is not set).
// Unset, the pool's size depends on how the worker started: a worker the host starts gets 1000 (Azure/
// azure-functions-host, DefaultWorkerProcessFactory.ApplyWorkerConcurrencyLimits), one specialized from a
// placeholder reloads the app's environment without it and takes Python's own default, min(32, CPUs + 4):
// 6 threads on 2 vCPUs, fewer than the queue invocations the host hands one instance. So it is set, from
// host.json: batchSize + newBatchThreshold (what one instance runs of the retry queue at once) plus
// httpThreadHeadroom, threads for HTTP requests (a create, an outbound message's acknowledgement) and the
// sweep timer beside a full batch: 16 + 8 + 8 = 32, the maximum Microsoft's app settings reference gives
// (functions-app-settings.md, PYTHON_THREADPOOL_THREAD_COUNT). tests/infra/test_worker_threads.py holds
// both bounds; docs/deploy.md, "The worker's threads".
// (Each term is named first: the tests' tree-sitter-bicep reads `a.b + c.d` as `(a.b + c).d`.)
var hostQueues = loadJsonContent('../../host.json').extensions.queues
var queueBatchSize = hostQueues.batchSize
var queueNewBatchThreshold = hostQueues.newBatchThreshold
var httpThreadHeadroom = 8
var workerSettings = {
  PYTHON_THREADPOOL_THREAD_COUNT: string(queueBatchSize + queueNewBatchThreshold + httpThreadHeadroom)
}

// Only outside Flex Consumption: the runtime and version the host would otherwise take from
// functionAppConfig; the container brings its own files (no App Service storage mount).
var dedicatedHostSettings = onFlexConsumption ? {} : {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'python'
  WEBSITES_ENABLE_APP_SERVICE_STORAGE: 'false'
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_78:Flex Consumption has no FTP(S) and must not set ftpsState (Microsoft's Flex Consumption plan deprecations); the Dedicated variant sets Disabled, and FTP and SCM basic-auth publishing are off below
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: onFlexConsumption ? 'functionapp,linux' : 'functionapp,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    publicNetworkAccess: 'Enabled'
    // Key Vault references resolve with the user-assigned identity (it holds Key Vault Secrets User).
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    functionAppConfig: onFlexConsumption ? {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
    } : null
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: onFlexConsumption ? null : 'Disabled' // Flex Consumption has no FTP(S) at all
      http20Enabled: true
      // App Service's own logs and the health check exist on the Dedicated plan only; on Flex
      // Consumption the host's logs go to App Insights and FunctionAppLogs (diagnostic setting below).
      httpLoggingEnabled: !onFlexConsumption
      detailedErrorLoggingEnabled: !onFlexConsumption
      requestTracingEnabled: !onFlexConsumption
      healthCheckPath: onFlexConsumption ? null : '/api/health'
      alwaysOn: onFlexConsumption ? null : true
      linuxFxVersion: onFlexConsumption ? null : 'DOCKER|${containerImage}'
      acrUseManagedIdentityCreds: !onFlexConsumption
      acrUserManagedIdentityID: onFlexConsumption ? null : identityClientId
    }
  }
}

// No basic-auth publishing (FTP or SCM): azd and `func azure functionapp publish` deploy with Entra.
// The app settings as one appsettings config resource (as the Azure Verified Module for sites writes
// appSettingsKeyValuePairs): the code's settings from main.bicep plus the host's own above.
// checkov reads every Microsoft.Web/sites/config as a site's siteConfig; this one holds app settings
// only, and the site above sets what these checks look for (or they do not apply to a Python function
// app with function keys), so they are suppressed here, for this resource only:
resource siteAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13:callers authenticate with function keys (the custom connector), not App Service Authentication
  // checkov:skip=CKV_AZURE_63:HTTP logging is the site's siteConfig.httpLoggingEnabled (set above)
  // checkov:skip=CKV_AZURE_65:detailed error logging is the site's siteConfig.detailedErrorLoggingEnabled (set above)
  // checkov:skip=CKV_AZURE_66:failed request tracing is the site's siteConfig.requestTracingEnabled (set above)
  // checkov:skip=CKV_AZURE_80:.NET Framework version does not apply to a Python app
  // checkov:skip=CKV_AZURE_88:Azure Files mounts do not apply: the app keeps its state in tables and queues
  // checkov:skip=CKV_AZURE_222:the site's public access is a design choice skipped in infra/.checkov.yaml
  parent: site
  name: 'appsettings'
  properties: union(appSettings, storageSettings, monitoringSettings, workerSettings, dedicatedHostSettings)
}

resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource relayNamespace 'Microsoft.Relay/namespaces@2021-11-01' existing = if (!onFlexConsumption) {
  name: empty(relayNamespaceName) ? 'unused' : relayNamespaceName
}

resource sapGatewayConnection 'Microsoft.Relay/namespaces/hybridConnections@2021-11-01' existing = if (!onFlexConsumption) {
  parent: relayNamespace
  name: empty(appServiceHybridConnectionName) ? 'unused' : appServiceHybridConnectionName
}

resource sapGatewaySendRule 'Microsoft.Relay/namespaces/hybridConnections/authorizationRules@2021-11-01' existing = if (!onFlexConsumption) {
  parent: sapGatewayConnection
  name: 'appservice-send'
}

var relayEndpoint = onFlexConsumption ? '' : relayNamespace.properties.serviceBusEndpoint

resource siteHybridConnection 'Microsoft.Web/sites/hybridConnectionNamespaces/relays@2024-04-01' = if (!onFlexConsumption) {
  name: '${site.name}/${relayNamespaceName}/${appServiceHybridConnectionName}'
  properties: {
    serviceBusNamespace: relayNamespaceName
    // '.servicebus.windows.net' out of 'https://{ns}.servicebus.windows.net:443/', as the AVM module does.
    serviceBusSuffix: onFlexConsumption ? '' : split(substring(relayEndpoint, indexOf(relayEndpoint, '.servicebus')), ':')[0]
    relayName: appServiceHybridConnectionName
    relayArmUri: sapGatewayConnection.id
    hostname: sapGatewayHost
    port: sapGatewayPort
    sendKeyName: sapGatewaySendRule.name
    sendKeyValue: onFlexConsumption ? '' : sapGatewaySendRule.listKeys().primaryKey
  }
}

resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
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

output name string = site.name
output id string = site.id
output url string = 'https://${site.properties.defaultHostName}'
